// sim_state.h: the state of one a2a3sim run, shared by the runtime's three parts:
//   runtime.cpp    the orchestration API (pto_orchestration.h) and the driver boundary (pto_sim.h)
//   scheduler.cpp  the ready queue: program order or a seeded random order, and the waits
//   lifetimes.cpp  runtime allocations, scopes, release (with poisoning) at scope end
// Internal to the runtime; the driver sees only pto_sim.h.
#ifndef PTO_SIM_STATE_H
#define PTO_SIM_STATE_H

#include <stdint.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

#include "pto_orchestration.h"
#include "pto_sim.h"

namespace ptosim {

struct Task {
    TaskRecord record;
    std::vector<uint64_t> deps;        // storage behind record.deps
    std::vector<uint64_t> dependents;  // tasks waiting for this one
    uint32_t unfinished_deps = 0;
    bool done = false;
};

// A buffer the runtime allocated (an OUTPUT create-info or alloc_tensors), owned by the scope that
// was innermost when its task was submitted.
struct Allocation {
    uint64_t addr = 0, size = 0;
    DataType dtype = DataType::UINT8;
    uint64_t scope_id = 0;
    uint64_t owner_task = 0;
    bool scope_closed = false;  // no task submitted from now on may use it
    bool released = false;      // poisoned; happens once the scope closed and its users finished
};

struct Scope {
    uint64_t id;
    std::vector<size_t> allocations;  // indices into Run::allocations
};

// The state of one run (one pto_sim_run call); reset at its start.
struct Run {
    PtoSimKernelCallback callback = nullptr;
    PtoSimEventCallback event_callback = nullptr;
    int32_t schedule = PTO_SIM_PROGRAM_ORDER;
    uint64_t seed = 0;
    std::mt19937_64 rng;
    int fatal = PTO_SIM_OK;
    std::string error;
    PtoSimCounters counters{};
    std::deque<Task> tasks;           // every submitted task, in program order (ids are indices)
    std::vector<uint64_t> ready;      // submitted, every dependency done, not yet run
    uint64_t unfinished = 0;          // submitted and not yet run
    std::vector<Allocation> allocations;
    std::vector<void *> host_blocks;  // freed when the run ends
    std::vector<Scope> scopes;        // open scopes, innermost last
    uint64_t next_scope_id = 1;
    std::vector<size_t> pending_release;  // allocations whose scope closed while users still ran
};

extern Run g_run;

bool fatal();
void fail(int code, const std::string &message);
void emit_event(int32_t kind, const TaskTensor *tensor, uint64_t element, uint64_t scope_id);
TaskTensor describe(const ChipTensor &t, TensorArgType tag);

// scheduler.cpp
void enqueue(uint64_t task_id);                // after the task's record is complete
void wait_for_buffer(const ChipTensor &t, bool writers_only);  // get/set_tensor_data
void drain();                                  // run every remaining task (the end of the run)
bool has_unfinished_user(uint64_t lo, uint64_t hi);  // a task not yet run declares bytes [lo, hi)

// lifetimes.cpp
void *allocate(uint64_t bytes, DataType dtype, uint64_t owner_task);
void check_alive(const ChipTensor &t, const std::string &user);  // fails on a closed scope's tensor
void scope_begin();
void scope_end();
void release_unused();  // releases closed scopes' allocations no unfinished task declares
void free_host_blocks();

}  // namespace ptosim

#endif  // PTO_SIM_STATE_H
