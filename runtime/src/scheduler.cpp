// scheduler.cpp: which submitted task runs next (DESIGN.md §7).
//
// A task is ready once every task it explicitly waits for has run; only explicit dependencies
// order tasks (the compiler emits all of them; the driver's sanitizer reports any conflict they
// leave unordered). Program order runs each task at its submit, which is valid because every
// dependency was submitted, hence run, before. The random schedule keeps a ready set, runs a
// seeded random number (0-2) of randomly chosen ready tasks after each submit, so tasks interleave
// with the orchestration and with each other, and otherwise runs them only when something waits:
// an orchestration element access waits for the tasks declaring that buffer, the end of the run
// for all. Different seeds thus give different (valid) orders; a correct program's result is the
// same bits in every one of them.
#include "sim_state.h"

namespace ptosim {
namespace {

bool overlaps(const TaskTensor &t, uint64_t lo, uint64_t hi) {
    return t.buffer_addr < hi && lo < t.buffer_addr + t.buffer_size;
}

// Does the task declare an access to bytes [lo, hi) (a write, when writers_only)?
bool declares(const TaskRecord &r, uint64_t lo, uint64_t hi, bool writers_only) {
    for (int32_t i = 0; i < r.tensor_count; ++i) {
        auto tag = static_cast<TensorArgType>(r.tensors[i].tag);
        if (tag == TensorArgType::NO_DEP || (writers_only && tag == TensorArgType::INPUT)) continue;
        if (overlaps(r.tensors[i], lo, hi)) return true;
    }
    return false;
}

void run_task(uint64_t id) {
    Task &task = g_run.tasks[id];
    int32_t core = task.record.core_type;
    bool has_kernel = core != PTO_SIM_DUMMY && core != PTO_SIM_ALLOC;
    if (!fatal()) {
        if (g_run.callback != nullptr) g_run.callback(&task.record);
        else if (has_kernel) fail(PTO_SIM_ERR_API, "no kernel callback registered (pto_sim_set_kernel_callback)");
    }
    task.done = true;
    g_run.unfinished--;
    for (uint64_t d : task.dependents)
        if (--g_run.tasks[d].unfinished_deps == 0) g_run.ready.push_back(d);
    release_unused();
}

// Runs one ready task (the oldest in program order, a seeded random one otherwise).
bool run_one() {
    if (g_run.ready.empty()) return false;
    size_t pick = 0;
    if (g_run.schedule == PTO_SIM_RANDOM) pick = g_run.rng() % g_run.ready.size();
    uint64_t id = g_run.ready[pick];
    g_run.ready[pick] = g_run.ready.back();
    g_run.ready.pop_back();
    run_task(id);
    return true;
}

// Runs ready tasks until `still_waiting()` is false; a deadlock (nothing ready) fails the run.
template <typename Pred>
void run_while(Pred still_waiting, const char *what) {
    while (still_waiting()) {
        if (!run_one()) {
            fail(PTO_SIM_ERR_DEADLOCK, std::string(what) + ": waiting, but no submitted task is ready");
            return;
        }
    }
}

}  // namespace

void enqueue(uint64_t id) {
    Task &task = g_run.tasks[id];
    g_run.unfinished++;
    for (uint64_t d : task.deps) {
        if (!g_run.tasks[d].done) {
            g_run.tasks[d].dependents.push_back(id);
            task.unfinished_deps++;
        }
    }
    if (task.unfinished_deps == 0) g_run.ready.push_back(id);
    if (g_run.schedule == PTO_SIM_PROGRAM_ORDER) {
        while (run_one()) {
        }
        return;
    }
    for (uint64_t k = g_run.rng() % 3; k > 0 && run_one(); --k) {
    }
}

void wait_for_buffer(const ChipTensor &t, bool writers_only) {
    uint64_t lo = t.buffer.addr, hi = t.buffer.addr + t.buffer.size;
    auto pending = [&] {
        if (fatal() || g_run.unfinished == 0) return false;  // program order: nothing is ever pending
        for (const Task &task : g_run.tasks)
            if (!task.done && declares(task.record, lo, hi, writers_only)) return true;
        return false;
    };
    run_while(pending, writers_only ? "get_tensor_data" : "set_tensor_data");
}

void drain() {
    run_while([] { return g_run.unfinished > 0; }, "the end of the run");
}

bool has_unfinished_user(uint64_t lo, uint64_t hi) {
    if (g_run.unfinished == 0) return false;
    for (const Task &task : g_run.tasks)
        if (!task.done && declares(task.record, lo, hi, false)) return true;
    return false;
}

}  // namespace ptosim
