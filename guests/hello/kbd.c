/* SPDX-License-Identifier: BSD-2-Clause */
#include "kbd.h"

#include <stdint.h>

#include "io.h"

#define I8042_DATA	0x60
#define I8042_STATUS	0x64
#define I8042_STR_OBF	0x01
#define I8042_STR_AUX	0x20

/* Set-1 make codes; a release is the make code with bit 7 set. */
#define SC_EXTENDED	0xe0
#define SC_CTRL		0x1d
#define SC_ALT		0x38
#define SC_DELETE	0x53	/* after SC_EXTENDED */
#define SC_RELEASE	0x80

static int ctrl_down, alt_down, extended;

/* Tracks the modifiers; returns 1 for Delete pressed under both. */
static int
kbd_code(uint8_t code)
{
	int was_extended = extended;
	int down = !(code & SC_RELEASE);
	uint8_t key = code & (uint8_t)~SC_RELEASE;

	extended = code == SC_EXTENDED;
	if (extended)
		return 0;
	/* Right Ctrl and right Alt are the extended forms of the left ones. */
	if (key == SC_CTRL)
		ctrl_down = down;
	else if (key == SC_ALT)
		alt_down = down;
	return was_extended && down && key == SC_DELETE && ctrl_down &&
	    alt_down;
}

int
kbd_read_chord(void)
{
	int chord = 0;
	uint8_t status;

	while ((status = inb(I8042_STATUS)) & I8042_STR_OBF) {
		uint8_t code = inb(I8042_DATA);

		if (!(status & I8042_STR_AUX) && kbd_code(code))
			chord = 1;
	}
	return chord;
}
