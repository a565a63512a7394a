/* report.h - the job's reports (report.c): progress line, summary, --json.
 * job_human_bytes and job_counter_key (job.h) live there too.
 * Called by job.c on the main thread; the progress thread is job.c's. */
#ifndef DISTCP_REPORT_H
#define DISTCP_REPORT_H
#include <pthread.h>
#include <stdbool.h>

#include "engine/job.h"

struct progress {          /* the progress thread (owned by job_run) */
    struct job *j;
    pthread_t th;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

/* Is the progress line shown (-progress, or stderr is a terminal, rank 0)? */
bool report_progress_on(const struct job *j);
/* One progress line; final ends it with a newline. */
void report_progress_print(struct job *j, bool final);
/* The progress thread: a line every 0.5 s until p->stop (arg: struct progress). */
void *report_progress_main(void *arg);
/* The end-of-job summary on stderr (and --json on stdout) for how the job ended (`status`). */
void report_summary(struct job *j, enum job_status status, double dur);

#endif
