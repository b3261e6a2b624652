/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hello guest: prints a banner and the CMOS date on COM1, then ticks on
 * the PIT through the 8259A (IRQ 0 on vector 0x20, COM1's IRQ 4 on 0x24),
 * printing "tick N" every HZ ticks and echoing what COM1 receives.  'q'
 * prints "bye" and powers off; so does Ctrl-Alt-Del on the keyboard (IRQ 1
 * on 0x21), which is how the host asks it to shut down.  Command line
 * options (decimal):
 *
 *   hz=N     tick rate, PIT_MIN_HZ..HZ_MAX (default 100)
 *   ticks=N  print "done N ticks" and power off after N ticks (0: never)
 *   exit=V   power-off status for 'q' and ticks=N (default 0)
 *   idle     leave the PIT off: the guest sleeps in HLT until COM1 input
 *   busy     wait for work spinning with interrupts on, never halting (and
 *            never exiting to the VMM while it waits)
 *
 * Interrupt handlers only count and queue; all printing happens in the main
 * loop, which sleeps with "sti; hlt" so no interrupt can slip in between the
 * last check for work and the halt.
 */
#include <stdint.h>

#include "idt.h"
#include "io.h"
#include "kbd.h"
#include "pic.h"
#include "pit.h"
#include "rtc.h"
#include "uart.h"

#define PIC_MASTER_BASE	0x20
#define PIC_SLAVE_BASE	0x28
#define HZ_DEFAULT	100
/* Each tick costs VM exits; far faster ticks would starve the main loop. */
#define HZ_MAX		1000
#define RX_RING_SIZE	64	/* a power of two */
#define SPURIOUS_IRQ	7

struct config {
	uint64_t hz;
	uint64_t ticks;
	uint64_t exit_status;
	int idle;
	int busy;
};

static volatile uint64_t ticks;
static volatile uint8_t rx_ring[RX_RING_SIZE];
static volatile unsigned rx_head;	/* written by uart_irq only */
static volatile unsigned rx_tail;	/* written by the main loop only */
static volatile int shutdown_requested;

__attribute__((interrupt)) static void
timer_irq(struct interrupt_frame *frame)
{
	(void)frame;
	ticks++;
	pic_eoi();
}

/* Drains the FIFO so the line drops and the next byte makes a new edge. */
__attribute__((interrupt)) static void
uart_irq(struct interrupt_frame *frame)
{
	int c;

	(void)frame;
	while ((c = uart_getc()) >= 0) {
		if (rx_head - rx_tail < RX_RING_SIZE) {
			rx_ring[rx_head % RX_RING_SIZE] = (uint8_t)c;
			rx_head++;
		}
	}
	pic_eoi();
}

__attribute__((interrupt)) static void
kbd_irq(struct interrupt_frame *frame)
{
	(void)frame;
	if (kbd_read_chord())
		shutdown_requested = 1;
	pic_eoi();
}

/*
 * An 8259A reports a request that went away before INTA as IRQ 7 without
 * putting it in service, so there is nothing to end.
 */
__attribute__((interrupt)) static void
spurious_irq(struct interrupt_frame *frame)
{
	(void)frame;
}

/* Returns 1 and sets *value if [s, end) is a decimal number fitting 32 bits. */
static int
parse_u32(const char *s, const char *end, uint64_t *value)
{
	uint64_t v = 0;

	if (s == end)
		return 0;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > 0xffffffffu)
			return 0;
	}
	*value = v;
	return 1;
}

/* Whether [tok, end) starts with name; then *rest is what follows it. */
static int
has_prefix(const char *tok, const char *end, const char *name,
    const char **rest)
{
	for (; *name; name++, tok++)
		if (tok == end || *tok != *name)
			return 0;
	*rest = tok;
	return 1;
}

static void
apply_option(const char *tok, const char *end, struct config *cfg)
{
	const char *value;
	uint64_t *field;

	if (has_prefix(tok, end, "idle", &value) && value == end) {
		cfg->idle = 1;
		return;
	}
	if (has_prefix(tok, end, "busy", &value) && value == end) {
		cfg->busy = 1;
		return;
	}
	if (has_prefix(tok, end, "hz=", &value))
		field = &cfg->hz;
	else if (has_prefix(tok, end, "ticks=", &value))
		field = &cfg->ticks;
	else if (has_prefix(tok, end, "exit=", &value))
		field = &cfg->exit_status;
	else
		return;
	if (!parse_u32(value, end, field)) {
		uart_puts("ignoring bad option ");
		while (tok < end)
			uart_putc(*tok++);
		uart_puts("\r\n");
	}
}

/* Options are separated by spaces; unknown ones belong to someone else. */
static void
parse_cmdline(const char *p, struct config *cfg)
{
	while (*p) {
		const char *tok;

		while (*p == ' ')
			p++;
		tok = p;
		while (*p && *p != ' ')
			p++;
		if (p != tok)
			apply_option(tok, p, cfg);
	}
	if (cfg->hz < PIT_MIN_HZ || cfg->hz > HZ_MAX) {
		uart_puts("hz=");
		uart_put_dec(cfg->hz);
		uart_puts(" out of range, using ");
		uart_put_dec(HZ_DEFAULT);
		uart_puts("\r\n");
		cfg->hz = HZ_DEFAULT;
	}
}

static void
print_date(void)
{
	struct rtc_time t;

	rtc_read(&t);
	uart_puts("rtc ");
	uart_put_dec_width(t.year, 4);
	uart_putc('-');
	uart_put_dec_width(t.month, 2);
	uart_putc('-');
	uart_put_dec_width(t.day, 2);
	uart_putc(' ');
	uart_put_dec_width(t.hour, 2);
	uart_putc(':');
	uart_put_dec_width(t.minute, 2);
	uart_putc(':');
	uart_put_dec_width(t.second, 2);
	uart_puts("\r\n");
}

static void
start_interrupts(const struct config *cfg)
{
	idt_init();
	idt_set_gate(PIC_MASTER_BASE + PIT_IRQ, timer_irq);
	idt_set_gate(PIC_MASTER_BASE + COM1_IRQ, uart_irq);
	idt_set_gate(PIC_MASTER_BASE + KBD_IRQ, kbd_irq);
	idt_set_gate(PIC_MASTER_BASE + SPURIOUS_IRQ, spurious_irq);
	pic_init(PIC_MASTER_BASE, PIC_SLAVE_BASE);
	uart_enable_rx_irq();
	pic_unmask(COM1_IRQ);
	pic_unmask(KBD_IRQ);
	if (!cfg->idle) {
		pit_start_periodic((uint32_t)cfg->hz);
		pic_unmask(PIT_IRQ);
	}
}

static void
echo_input(const struct config *cfg)
{
	while (rx_tail != rx_head) {
		char c = (char)rx_ring[rx_tail % RX_RING_SIZE];

		rx_tail++;
		uart_putc(c);
		if (c == 'q') {
			uart_puts("\r\nbye\r\n");
			power_off((uint32_t)cfg->exit_status);
		}
	}
}

/* Halts until an interrupt unless one already left work behind. */
static void
wait_for_work(const struct config *cfg, uint64_t seen_ticks)
{
	if (cfg->busy) {
		__asm__ volatile("sti" : : : "memory");
		while (rx_head == rx_tail && ticks == seen_ticks &&
		    !shutdown_requested)
			__asm__ volatile("pause" : : : "memory");
		return;
	}
	__asm__ volatile("cli" : : : "memory");
	if (rx_head == rx_tail && ticks == seen_ticks && !shutdown_requested)
		__asm__ volatile("sti; hlt" : : : "memory");
	else
		__asm__ volatile("sti" : : : "memory");
}

__attribute__((noreturn)) void hello_main(const char *cmdline);

void
hello_main(const char *cmdline)
{
	struct config cfg = { HZ_DEFAULT, 0, 0, 0, 0 };
	uint64_t next_report;

	uart_init();
	uart_puts("vmruntime hello guest\r\n");
	print_date();
	parse_cmdline(cmdline, &cfg);
	start_interrupts(&cfg);

	for (next_report = cfg.hz;;) {
		uint64_t now;

		echo_input(&cfg);
		if (shutdown_requested) {
			uart_puts("ctrl-alt-del: powering off\r\n");
			power_off((uint32_t)cfg.exit_status);
		}
		now = ticks;
		for (; next_report <= now; next_report += cfg.hz) {
			uart_puts("tick ");
			uart_put_dec(next_report);
			uart_puts("\r\n");
		}
		if (cfg.ticks != 0 && now >= cfg.ticks) {
			uart_puts("done ");
			uart_put_dec(cfg.ticks);
			uart_puts(" ticks\r\n");
			power_off((uint32_t)cfg.exit_status);
		}
		wait_for_work(&cfg, now);
	}
}
