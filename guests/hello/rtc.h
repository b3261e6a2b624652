/* SPDX-License-Identifier: BSD-2-Clause */
/* MC146818 CMOS RTC: index port 0x70, data port 0x71. */
#ifndef HELLO_RTC_H
#define HELLO_RTC_H

struct rtc_time {
	unsigned year;
	unsigned month;
	unsigned day;
	unsigned hour;		/* 0-23 */
	unsigned minute;
	unsigned second;
};

/* Reads a consistent date and time, in whatever form status B says. */
void rtc_read(struct rtc_time *t);

#endif
