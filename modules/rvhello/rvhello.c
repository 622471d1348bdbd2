// SPDX-License-Identifier: GPL-2.0
/* rvbuild's example out-of-tree module: a line in the kernel log on load and unload, and
 * /proc/rvhello, which reads one fixed line. */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

static struct proc_dir_entry *entry;

static int rvhello_show(struct seq_file *m, void *v)
{
	seq_puts(m, "Hello from rvhello, an out-of-tree module built by rvbuild\n");
	return 0;
}

static int __init rvhello_init(void)
{
	entry = proc_create_single("rvhello", 0444, NULL, rvhello_show);
	if (!entry)
		return -ENOMEM;
	pr_info("rvhello: loaded, read /proc/rvhello\n");
	return 0;
}

static void __exit rvhello_exit(void)
{
	proc_remove(entry);
	pr_info("rvhello: unloaded\n");
}

module_init(rvhello_init);
module_exit(rvhello_exit);
MODULE_DESCRIPTION("rvbuild's example out-of-tree module");
MODULE_LICENSE("GPL");
