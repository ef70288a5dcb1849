/*
 * elf_traits.yar - hinomi's own rules: traits of ELF files that ordinary
 * distribution binaries do not have.  Written for hinomi; no third-party
 * text.  Offsets are the ELF header's (little-endian, 32- and 64-bit).
 */

rule elf_upx_packed
{
    meta:
        description = "ELF packed with UPX (packing hides the code from scanners)"
        author = "hinomi"
        severity = "medium"
        tags = "attack.defense_evasion, attack.t1027.002"
    strings:
        $magic = "UPX!" ascii
        $info = "$Info: This file is packed with the UPX" ascii
        $id = "$Id: UPX" ascii
    condition:
        uint32(0) == 0x464c457f and $magic in (0..1024) and ($info or $id or #magic >= 2)
}

rule elf_no_section_headers
{
    meta:
        description = "ELF executable or shared object with no section headers (stripped by a packer or by hand)"
        author = "hinomi"
        severity = "medium"
        tags = "attack.defense_evasion, attack.t1027"
    condition:
        uint32(0) == 0x464c457f and uint8(5) == 1 and
        (uint16(0x10) == 2 or uint16(0x10) == 3) and
        ((uint8(4) == 2 and filesize >= 64 and uint16(0x3C) == 0 and uint32(0x28) == 0 and uint32(0x2C) == 0) or
         (uint8(4) == 1 and filesize >= 52 and uint16(0x30) == 0 and uint32(0x20) == 0))
}

rule elf_dev_tcp_address
{
    meta:
        description = "ELF file with a hard-coded /dev/tcp/ADDRESS/PORT (a reverse shell it runs)"
        author = "hinomi"
        severity = "high"
        tags = "attack.execution, attack.t1059.004, attack.command_and_control"
    strings:
        $tcp = /\/dev\/(tcp|udp)\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\/[0-9]{1,5}/
    condition:
        uint32(0) == 0x464c457f and $tcp
}

rule elf_ld_preload_hook
{
    meta:
        description = "ELF shared object made to be preloaded that wraps libc calls through dlsym (a user-space rootkit's shape)"
        author = "hinomi"
        severity = "high"
        tags = "attack.persistence, attack.defense_evasion, attack.t1574.006, attack.t1014"
    strings:
        $dlsym = "dlsym" ascii fullword
        $preload = "/etc/ld.so.preload" ascii
        $env = "LD_PRELOAD" ascii fullword
        $h1 = "readdir64" ascii fullword
        $h2 = "readdir" ascii fullword
        $h3 = "fopen64" ascii fullword
        $h4 = "__xstat" ascii fullword
        $h5 = "accept" ascii fullword
        $h6 = "pam_authenticate" ascii fullword
        $h7 = "unlinkat" ascii fullword
        // not the dynamic loader itself, nor the interposers of known
        // tools (sanitizer runtimes, fakeroot, eatmydata)
        $not1 = "_dl_catch_error" ascii
        $not2 = "_rtld_global" ascii
        $not3 = "__interceptor_" ascii
        $not4 = "__sanitizer" ascii
        $not5 = "FAKEROOTKEY" ascii
        $not6 = "libeatmydata" ascii
    condition:
        uint32(0) == 0x464c457f and uint16(0x10) == 3 and filesize < 4MB and
        $dlsym and ($preload or $env) and 3 of ($h*) and not any of ($not*)
}
