/*
 * entity.c - entity ids (see entity.h for the layout).  The boot's offset
 * is FNV-1a 64 over the boot id, cut to 41 bits; the id stays below 2^63 so
 * it fits SQLite's signed INTEGER.
 */
#include "event/entity.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int hn_boot_id(uint8_t out[16])
{
	static uint8_t cached[16];
	static int have;
	char text[64];
	int fd, n, r = -EIO, j = 0;

	if (have) {
		memcpy(out, cached, 16);
		return 0;
	}
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = (int)read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return r;
	text[n] = '\0';
	for (int i = 0; text[i] && j < 32; i++) {
		char c = text[i];
		int v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			continue;
		if (j % 2 == 0)
			cached[j / 2] = (uint8_t)(v << 4);
		else
			cached[j / 2] |= (uint8_t)v;
		j++;
	}
	if (j != 32)
		return -EINVAL;
	have = 1;
	memcpy(out, cached, 16);
	return 0;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define SLOT_SHIFT 14    /* 16.384 us per slot */
#define SLOT_BITS  41
#define PID_BITS   22

uint64_t hn_entity_id(const uint8_t boot_id[16], uint32_t pid, uint64_t start_ns)
{
	const uint64_t slot_mask = (1ULL << SLOT_BITS) - 1;
	/* two ids an event, one boot id: its hash once (per thread) */
	static _Thread_local uint8_t last_boot[16];
	static _Thread_local uint64_t last_base;
	static _Thread_local bool have;
	uint64_t base;

	if (!have || memcmp(boot_id, last_boot, 16) != 0) {
		memcpy(last_boot, boot_id, 16);
		last_base = fnv1a(0xcbf29ce484222325ULL, boot_id, 16) & slot_mask;
		have = true;
	}
	base = last_base;
	uint64_t slot = (base + (start_ns >> SLOT_SHIFT)) & slot_mask;
	uint64_t id = slot << PID_BITS | (pid & ((1u << PID_BITS) - 1));

	return id ? id : 1;
}

uint64_t hn_boot_ns_to_ticks(uint64_t boot_ns)
{
	static long hz;
	if (!hz) {
		hz = sysconf(_SC_CLK_TCK);
		if (hz <= 0)
			hz = 100;
	}
	/* The kernel's nsec_to_clock_t for USER_HZ dividing NSEC_PER_SEC. */
	return boot_ns / (1000000000ULL / (uint64_t)hz);
}

bool hn_entity_matches_ticks(const uint8_t boot_id[16], uint64_t entity, uint32_t pid,
			     uint64_t ticks)
{
	const uint64_t slot_mask = (1ULL << SLOT_BITS) - 1;
	uint64_t tick_ns, lo, hi, slot;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0)
		hz = 100;
	tick_ns = 1000000000ULL / (uint64_t)hz;
	if ((entity & ((1u << PID_BITS) - 1)) != (pid & ((1u << PID_BITS) - 1)))
		return false;
	/* the ids of the first and the last ns of the tick: the slot of any
	 * start inside lies between them (modulo the wrap) */
	lo = hn_entity_id(boot_id, pid, ticks * tick_ns) >> PID_BITS;
	hi = hn_entity_id(boot_id, pid, (ticks + 1) * tick_ns - 1) >> PID_BITS;
	slot = (entity >> PID_BITS) & slot_mask;
	return ((slot - lo) & slot_mask) <= ((hi - lo) & slot_mask);
}

const char *hn_entity_str(uint64_t entity, char *buf, size_t n)
{
	snprintf(buf, n, "%016llx", (unsigned long long)entity);
	return buf;
}

int hn_entity_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 16)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}
