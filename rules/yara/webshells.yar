/*
 * webshells.yar - hinomi's own rules: server-side scripts that run what a
 * web request sends them (PHP, JSP).  Written for hinomi; no third-party
 * text.  Each rule wants a script marker and the request reaching a code-
 * or command-running function, so a framework that merely calls eval() or
 * reads $_POST does not fire.
 */

rule php_eval_request_input
{
    meta:
        description = "PHP webshell: eval/assert/system runs request input"
        author = "hinomi"
        severity = "critical"
        tags = "attack.persistence, attack.t1505.003"
    strings:
        $php = "<?" ascii
        // eval($_POST['x']) , @assert($_REQUEST[...]) , system($_GET["c"]) ...
        $run = /(eval|assert|system|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(\s*@?\s*(stripslashes\s*\(\s*|base64_decode\s*\(\s*|str_rot13\s*\(\s*|gzinflate\s*\(\s*|urldecode\s*\(\s*){0,3}\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
        // `$_GET['c']` in backticks: the shell runs it
        $tick = /`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,64}\]\s*`/ nocase
        // preg_replace's /e modifier evaluates the replacement
        $prege = /preg_replace\s*\(\s*['"][^'"]{0,128}\/e['"]\s*,\s*[^,]{0,32}\$_(GET|POST|REQUEST|COOKIE)/ nocase
    condition:
        filesize < 2MB and $php and ($run or $tick or $prege)
}

rule php_eval_encoded_payload
{
    meta:
        description = "PHP webshell: eval of a payload decoded at run time (base64/gzinflate/rot13 chain)"
        author = "hinomi"
        severity = "high"
        tags = "attack.persistence, attack.t1505.003, attack.defense_evasion, attack.t1027"
    strings:
        $php = "<?" ascii
        $chain = /(eval|assert)\s*\(\s*@?\s*(gzinflate|gzuncompress|gzdecode|str_rot13|strrev)\s*\(\s*@?\s*(base64_decode|str_rot13|gzinflate)\s*\(/ nocase
        $b64 = /(eval|assert)\s*\(\s*@?\s*base64_decode\s*\(\s*['"][A-Za-z0-9+\/=]{200,}/ nocase
    condition:
        filesize < 4MB and $php and ($chain or $b64)
}

rule php_dynamic_call_request_input
{
    meta:
        description = "PHP webshell: a function named by the request called with request input"
        author = "hinomi"
        severity = "high"
        tags = "attack.persistence, attack.t1505.003"
    strings:
        $php = "<?" ascii
        // $_GET['f']($_POST['c'])  or  call_user_func($_GET[..], $_POST[..])
        $call = /\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,64}\]\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
        $cuf = /call_user_func(_array)?\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,64}\]\s*,\s*\$_(GET|POST|REQUEST|COOKIE)/ nocase
    condition:
        filesize < 2MB and $php and ($call or $cuf)
}

rule jsp_runtime_exec_request_param
{
    meta:
        description = "JSP webshell: Runtime.exec of a request parameter"
        author = "hinomi"
        severity = "critical"
        tags = "attack.persistence, attack.t1505.003"
    strings:
        $jsp1 = "<%" ascii
        $jsp2 = "<jsp:" ascii
        $exec = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(/
        $pb = /new\s+ProcessBuilder\s*\(/
        $param = /request\s*\.\s*getParameter\s*\(/
        $direct = /\.\s*exec\s*\(\s*request\s*\.\s*getParameter\s*\(/
    condition:
        filesize < 2MB and ($jsp1 or $jsp2) and ($direct or (($exec or $pb) and $param))
}
