#ifndef CERTAGENT_CGLIBCSHIM_H
#define CERTAGENT_CGLIBCSHIM_H

// glibc functions Swift's Glibc module does not import (it is built without _GNU_SOURCE), variadic calls, and C's
// mutable `stdout`, each behind a plain function Swift can call. Everything here is glibc >= 2.34 (Debian 12 has 2.36).

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start.
int certagent_pipe_cloexec(int fds[2]);

/// mkostemp(template, O_CLOEXEC).
int certagent_mkostemp_cloexec(char *template_path);

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `lowest` on.
int certagent_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int lowest);

/// posix_spawn_file_actions_addchdir_np: the child starts in `directory`.
int certagent_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *directory);

/// prctl(PR_SET_DUMPABLE, dumpable): 0 on success.
int certagent_set_dumpable(int dumpable);

/// prctl(PR_GET_DUMPABLE): 1 or 0, or -1 on error.
int certagent_get_dumpable(void);

/// setvbuf(stdout, NULL, _IOLBF, 0): standard output line-buffered, even into a pipe or a file.
void certagent_line_buffer_stdout(void);

#endif
