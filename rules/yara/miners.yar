/*
 * miners.yar - hinomi's own rules: cryptocurrency miners, their
 * configuration files and binaries.  Written for hinomi; no third-party
 * text.
 */

rule miner_config_stratum_pools
{
    meta:
        description = "Cryptominer configuration: a pool list with stratum URLs (xmrig-style JSON)"
        author = "hinomi"
        severity = "high"
        tags = "attack.impact, attack.t1496"
    strings:
        $pools = /"pools"\s*:\s*\[/
        $url = /"url"\s*:\s*"(stratum\+(tcp|ssl|tls)|stratum[12]?\+tcp):\/\/[^"]{3,255}"/ nocase
        $donate = /"donate-level"\s*:/
        $algo = /"(algo|coin)"\s*:\s*"(rx\/|cn\/|cn-|randomx|monero|xmr|argon2|kawpow|ghostrider|astrobwt)/ nocase
        $user = /"user"\s*:\s*"[0-9A-Za-z]{90,110}/
    condition:
        filesize < 1MB and $url and ($pools or $donate or $algo or $user)
}

rule miner_elf_stratum
{
    meta:
        description = "Cryptominer binary: an ELF file with stratum pool protocol strings"
        author = "hinomi"
        severity = "high"
        tags = "attack.impact, attack.t1496"
    strings:
        $s1 = "stratum+tcp://" ascii
        $s2 = "stratum+ssl://" ascii
        $s3 = "stratum+tls://" ascii
        $m1 = "mining.subscribe" ascii
        $m2 = "mining.authorize" ascii
        $m3 = "mining.submit" ascii
        $x1 = "donate-level" ascii
        $x2 = "cryptonight" ascii nocase
        $x3 = "randomx" ascii nocase
        $x4 = "xmrig" ascii nocase
    condition:
        uint32(0) == 0x464c457f and any of ($s*) and (any of ($m*) or 2 of ($x*))
}
