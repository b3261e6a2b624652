/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CMOS clock reader: wait until no update is in progress, read every field,
 * and read again until two passes agree, so that an update landing between
 * two fields cannot tear the result.
 * Register and bit names follow <linux/mc146818rtc.h>.
 */
#include "rtc.h"

#include <stdint.h>

#include "io.h"

#define RTC_INDEX	0x70
#define RTC_DATA	0x71

#define RTC_SECONDS	0x00
#define RTC_MINUTES	0x02
#define RTC_HOURS	0x04
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_CENTURY	0x32	/* the PC/AT century byte */

#define RTC_UIP		0x80	/* in A: update in progress */
#define RTC_24H		0x02	/* in B: 24-hour mode */
#define RTC_DM_BINARY	0x04	/* in B: binary, not BCD */
#define RTC_HOURS_PM	0x80	/* in the hours byte, 12-hour mode */

enum { SEC, MIN, HOUR, DAY, MON, YEAR, CENTURY, NFIELDS };

static const uint8_t field_reg[NFIELDS] = {
	RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_MONTH, RTC_MONTH,
	RTC_YEAR, RTC_CENTURY,
};

static uint8_t
cmos_read(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

static void
read_fields(uint8_t f[NFIELDS])
{
	while (cmos_read(RTC_REG_A) & RTC_UIP)
		;
	for (int i = 0; i < NFIELDS; i++)
		f[i] = cmos_read(field_reg[i]);
}

static int
same_fields(const uint8_t a[NFIELDS], const uint8_t b[NFIELDS])
{
	for (int i = 0; i < NFIELDS; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static unsigned
decode(uint8_t value, int binary)
{
	return binary ? value : (value & 0x0f) + (value >> 4) * 10u;
}

static unsigned
decode_hour(uint8_t value, uint8_t status_b)
{
	int binary = status_b & RTC_DM_BINARY;
	unsigned hour;

	if (status_b & RTC_24H)
		return decode(value, binary);
	hour = decode(value & (uint8_t)~RTC_HOURS_PM, binary) % 12;
	return (value & RTC_HOURS_PM) ? hour + 12 : hour;
}

void
rtc_read(struct rtc_time *t)
{
	uint8_t f[NFIELDS], again[NFIELDS];
	uint8_t status_b;
	int binary;
	unsigned century;

	read_fields(again);
	do {
		for (int i = 0; i < NFIELDS; i++)
			f[i] = again[i];
		read_fields(again);
	} while (!same_fields(f, again));
	status_b = cmos_read(RTC_REG_B);
	binary = status_b & RTC_DM_BINARY;

	/* Clocks without a century byte read 0 or 0xff there. */
	century = decode(f[CENTURY], binary);
	if (century < 19 || century > 99)
		century = 20;
	t->year = century * 100 + decode(f[YEAR], binary);
	t->month = decode(f[MON], binary);
	t->day = decode(f[DAY], binary);
	t->hour = decode_hour(f[HOUR], status_b);
	t->minute = decode(f[MIN], binary);
	t->second = decode(f[SEC], binary);
}
