/* pto_sim.h: the plain-C boundary between the a2a3sim runtime (runtime/src/runtime.cpp) and its
 * Python driver (pto/sim/a2a3sim.py, through ctypes). C only, fixed-size fields, no C++ types, so
 * the ctypes mirror in a2a3sim.py stays a line-by-line copy of these structs.
 *
 * A task is reported to the driver as one TaskRecord when it runs: its kernel(s), its tensors as
 * host-memory views (address of the view origin, shape and strides in elements), its scalar bits,
 * its block count and the task ids it explicitly waits for.
 */
#ifndef PTO_SIM_H
#define PTO_SIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PTO_SIM_MAX_DIMS 5
#define PTO_SIM_MAX_TENSORS 32
#define PTO_SIM_MAX_SCALARS 16

/* What runs a task (TaskRecord.core_type). DUMMY and ALLOC tasks have no kernel; they are handed
 * to the callback too (the driver records the whole dependency graph) and need no work. */
enum { PTO_SIM_AIV = 0, PTO_SIM_AIC = 1, PTO_SIM_MIXED = 2, PTO_SIM_DUMMY = 3, PTO_SIM_ALLOC = 4 };

/* Error codes of pto_sim_run (0 = success); the message is pto_sim_last_error(). */
enum {
    PTO_SIM_OK = 0,
    PTO_SIM_ERR_ARGS = 1,     /* entry arguments do not match aicpu_orchestration_config */
    PTO_SIM_ERR_API = 2,      /* the orchestration misused the API (too many args, bad view, ...) */
    PTO_SIM_ERR_KERNEL = 3,   /* the driver reported a failing kernel (pto_sim_report_error) */
    PTO_SIM_ERR_ALLOC = 4,    /* host allocation failed */
    PTO_SIM_ERR_LIFETIME = 5, /* a tensor used after its scope closed */
    PTO_SIM_ERR_DEADLOCK = 6, /* a wait that no ready task can satisfy */
};

/* Schedules (pto_sim_set_schedule). PROGRAM_ORDER runs each task at its submit. RANDOM queues
 * tasks and, seeded, picks among the ready ones (every explicit dependency finished) at random,
 * running a random number of them after each submit; waits (get/set_tensor_data, the end of the
 * run) run ready tasks until what they wait for has finished. */
enum { PTO_SIM_PROGRAM_ORDER = 0, PTO_SIM_RANDOM = 1 };

/* Orchestration-side events the driver's sanitizer places in program order: `seq` tasks had been
 * submitted when it happened (so it follows task seq-1 and precedes task seq). */
enum {
    PTO_SIM_EVENT_READ = 0,    /* get_tensor_data of one element (tensor, element) */
    PTO_SIM_EVENT_WRITE = 1,   /* set_tensor_data of one element */
    PTO_SIM_EVENT_SCOPE_END = 2,  /* a scope closed; its runtime allocations are released (and
                                     poisoned) once their last declared user finished */
    PTO_SIM_EVENT_RELEASE = 3, /* one runtime allocation released: tensor.buffer_addr/size */
};

typedef struct TaskTensor {
    uint64_t addr;          /* host address of the view origin (buffer.addr + start_offset * elem) */
    uint64_t buffer_addr;   /* the whole buffer the view looks into */
    uint64_t buffer_size;   /* bytes */
    uint64_t start_offset;  /* elements from buffer_addr to the origin */
    uint64_t owner_task_id; /* task that allocated the buffer; UINT64_MAX for external memory */
    uint32_t tag;           /* TensorArgType: 0 INPUT, 1 OUTPUT, 2 INOUT, 3 OUTPUT_EXISTING, 4 NO_DEP */
    uint32_t dtype;         /* DataType enumerator */
    uint32_t elem_size;     /* bytes per element */
    uint32_t ndims;
    uint32_t shapes[PTO_SIM_MAX_DIMS];  /* elements */
    uint32_t strides[PTO_SIM_MAX_DIMS]; /* elements */
} TaskTensor;

typedef struct TaskRecord {
    uint64_t task_id;
    int32_t core_type;      /* PTO_SIM_AIV / AIC / MIXED / DUMMY / ALLOC */
    int32_t kernel_id;      /* AIV / AIC: the kernel; MIXED: -1 (see the three below) */
    int32_t aic_kernel_id;  /* MIXED only, else -1 */
    int32_t aiv0_kernel_id;
    int32_t aiv1_kernel_id;
    int32_t block_num;
    int32_t tensor_count;
    int32_t scalar_count;
    TaskTensor tensors[PTO_SIM_MAX_TENSORS];
    uint64_t scalars[PTO_SIM_MAX_SCALARS];
    uint32_t dep_count;
    const uint64_t *deps;   /* explicit dependencies (task ids), valid during the callback */
} TaskRecord;

typedef struct PtoSimCounters {
    uint64_t tasks_submitted;   /* every submit: kernel, dummy and alloc tasks */
    uint64_t kernel_tasks;      /* submits that run a kernel (AIV, AIC, MIXED) */
    uint64_t dummy_tasks;
    uint64_t alloc_tasks;
    uint64_t bytes_allocated;   /* runtime-allocated bytes over the run */
    uint64_t max_scope_depth;   /* deepest scope nesting, the outer scope being 1 */
} PtoSimCounters;

typedef struct PtoSimEvent {
    int32_t kind;
    uint64_t seq;
    TaskTensor tensor;       /* READ / WRITE: the tensor; RELEASE: buffer_addr, buffer_size */
    uint64_t element;        /* READ / WRITE: elements from the view origin, row-major in the view */
    uint64_t scope_id;       /* SCOPE_END / RELEASE: the scope (1 = the executor's outer scope) */
} PtoSimEvent;

typedef void (*PtoSimKernelCallback)(const TaskRecord *task);
typedef void (*PtoSimEventCallback)(const PtoSimEvent *event);

void pto_sim_set_kernel_callback(PtoSimKernelCallback cb);
void pto_sim_set_event_callback(PtoSimEventCallback cb);  /* optional */
void pto_sim_set_schedule(int32_t mode, uint64_t seed);   /* for the following runs */
/* Runs the entry on external tensors (row-major, contiguous host memory) and scalars (bits).
 * shapes holds PTO_SIM_MAX_DIMS entries per tensor. Returns PTO_SIM_OK or an error code. */
int pto_sim_run(int32_t tensor_count, const uint64_t *addrs, const uint32_t *shapes,
                const uint32_t *ndims, const uint32_t *dtypes, int32_t scalar_count,
                const uint64_t *scalars);
/* Called by the driver from inside the callback: the run becomes fatal (later API calls are
 * no-ops, as in the reference runtime) and pto_sim_run returns `code`. */
void pto_sim_report_error(int code, const char *message);
const char *pto_sim_last_error(void);
void pto_sim_get_counters(PtoSimCounters *out);

#ifdef __cplusplus
}
#endif

#endif /* PTO_SIM_H */
