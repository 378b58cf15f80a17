#define _GNU_SOURCE
#include "CGlibcShim.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int certagent_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int certagent_mkostemp_cloexec(char *template_path) { return mkostemp(template_path, O_CLOEXEC); }

int certagent_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int certagent_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *directory) {
    return posix_spawn_file_actions_addchdir_np(actions, directory);
}

int certagent_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0); }

int certagent_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

void certagent_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
