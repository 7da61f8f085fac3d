/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The broker's rules (see broker_rules.h): no shell, no glob, no option
 * ever comes of a placeholder; {major:NAME} is the kernel's number now.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_rules.h"

/* Whether s[0..len) is in a placeholder's class. */
static int in_class(const char *cls, const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	if (!strcmp(cls, "{int}")) {
		for (i = 0; i < len; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
		return 1;
	}
	if (!strcmp(cls, "{ints}") || !strcmp(cls, "{num}")) {
		char sep = cls[1] == 'i' ? ',' : '.';
		int seps = 0;

		for (i = 0; i < len; i++) {
			if (s[i] == sep) {
				if (i == 0 || i + 1 == len || s[i - 1] == sep)
					return 0;
				seps++;
			} else if (s[i] < '0' || s[i] > '9') {
				return 0;
			}
		}
		return sep == ',' || seps <= 1;
	}
	if (!strcmp(cls, "{word}")) {
		if (s[0] == '-' || (len == 1 && s[0] == '.') || (len == 2 && !strncmp(s, "..", 2)))
			return 0;
		for (i = 0; i < len; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-",
				    s[i]))
				return 0;
		return 1;
	}
	return 0;
}

/*
 * The major number the running kernel gave the character-device driver
 * name[0..len) (/proc/devices, read now, in the host's view), as text in
 * out; 0 if it lists none.
 */
static int char_major(const char *name, size_t len, char out[16])
{
	FILE *f = fopen("/proc/devices", "re");
	char line[256];
	int in_char = 0, found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char num[16], drv[200];

		if (!strncmp(line, "Character devices:", 18)) {
			in_char = 1;
			continue;
		}
		if (!strncmp(line, "Block devices:", 14))
			in_char = 0;
		if (in_char && sscanf(line, " %15[0-9] %199s", num, drv) == 2 &&
		    strlen(drv) == len && !strncmp(drv, name, len)) {
			snprintf(out, 16, "%s", num);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* Whether the whole of s matches pattern p (literals and placeholders). */
static int match(const char *p, const char *s)
{
	static const char *const classes[] = { "{ints}", "{int}", "{num}", "{word}" };

	if (!*p)
		return !*s;
	/* {major:NAME}: that driver's major now, nothing else (a device the hook cannot choose). */
	if (!strncmp(p, "{major:", 7) && strchr(p, '}')) {
		const char *end = strchr(p, '}');
		char want[16];
		size_t wl;

		if (!char_major(p + 7, (size_t)(end - p - 7), want))
			return 0;
		wl = strlen(want);
		return !strncmp(s, want, wl) && match(end + 1, s + wl);
	}
	for (size_t c = 0; c < 4; c++) {
		size_t cl = strlen(classes[c]);

		if (strncmp(p, classes[c], cl))
			continue;
		for (size_t len = strlen(s); len > 0; len--)
			if (in_class(classes[c], s, len) && match(p + cl, s + len))
				return 1;
		return 0;
	}
	return *p == *s && match(p + 1, s + 1);
}

/* The rule named `name`, parsed from the plan's list; -1 if none. */
int pd_rule_find(const struct pd_list *l, const char *name, struct pd_rule *r)
{
	size_t i = 0;

	while (i + 4 <= l->n) {
		size_t n = strtoul(l->items[i + 3], NULL, 10), j = i + 4;

		r->name = l->items[i];
		r->path = l->items[i + 1];
		r->caps = l->items[i + 2];
		r->patterns = l->items + j;
		r->n_patterns = n;
		for (size_t k = 0; k < n && j < l->n; k++)
			j += 1 + strtoul(l->items[j], NULL, 10);
		if (j > l->n)
			return -1;
		if (!strcmp(r->name, name))
			return 0;
		i = j;
	}
	return -1;
}

/* Whether args[0..n) matches one of the rule's patterns. */
int pd_rule_allows(const struct pd_rule *r, char **args, size_t n)
{
	char **p = r->patterns;

	for (size_t k = 0; k < r->n_patterns; k++) {
		size_t len = strtoul(*p, NULL, 10), i;

		for (i = 0; i < len && i < n && match(p[1 + i], args[i]); i++)
			;
		if (i == len && len == n)
			return 1;
		p += 1 + len;
	}
	return 0;
}
