// runtime.cpp: the a2a3sim implementation of pto_orchestration.h (DESIGN.md §7) and the driver
// boundary of pto_sim.h. Scheduling lives in scheduler.cpp, allocations and scopes in lifetimes.cpp.
//
// Memory is host memory: a tensor's buffer.addr is a host pointer, so the Python driver can wrap
// every task's views as numpy arrays without copying. Runtime-allocated buffers (alloc_tensors,
// OUTPUT create-infos) are aligned host allocations owned by the run and freed when it ends.
#include <stdio.h>
#include <stdlib.h>

#include "sim_state.h"

#define PTO_SIM_EXPORT extern "C" __attribute__((visibility("default")))

namespace ptosim {

Run g_run;

bool fatal() { return g_run.fatal != PTO_SIM_OK; }

void fail(int code, const std::string &message) {
    if (fatal()) return;  // the first error is the one worth reading
    g_run.fatal = code;
    g_run.error = message;
}

void emit_event(int32_t kind, const TaskTensor *tensor, uint64_t element, uint64_t scope_id) {
    if (g_run.event_callback == nullptr || fatal()) return;
    PtoSimEvent e{};
    e.kind = kind;
    e.seq = g_run.tasks.size();
    if (tensor != nullptr) e.tensor = *tensor;
    e.element = element;
    e.scope_id = scope_id;
    g_run.event_callback(&e);
}

TaskTensor describe(const ChipTensor &t, TensorArgType tag) {
    TaskTensor d{};
    d.elem_size = static_cast<uint32_t>(get_element_size(t.dtype));
    d.addr = t.buffer.addr + t.start_offset * d.elem_size;
    d.buffer_addr = t.buffer.addr;
    d.buffer_size = t.buffer.size;
    d.start_offset = t.start_offset;
    d.owner_task_id = t.owner_task_id.raw;
    d.tag = static_cast<uint32_t>(tag);
    d.dtype = static_cast<uint32_t>(t.dtype);
    d.ndims = t.ndims;
    memcpy(d.shapes, t.shapes, sizeof(d.shapes));
    memcpy(d.strides, t.strides, sizeof(d.strides));
    return d;
}

}  // namespace ptosim

using namespace ptosim;

namespace {

uint64_t element_count(const uint32_t shapes[], uint32_t ndims) {
    uint64_t n = 1;
    for (uint32_t d = 0; d < ndims; ++d) n *= shapes[d];
    return n;
}

void row_major_strides(ChipTensor &t) {
    uint32_t stride = 1;
    for (uint32_t d = t.ndims; d-- > 0;) {
        t.strides[d] = stride;
        stride *= t.shapes[d];
    }
}

bool is_row_major(const ChipTensor &t) {
    uint64_t expect = 1;
    for (uint32_t d = t.ndims; d-- > 0;) {
        if (t.shapes[d] != 1 && t.strides[d] != expect) return false;
        expect *= t.shapes[d];
    }
    return true;
}

ChipTensor materialize(const TensorCreateInfo &info, PTO2TaskId owner) {
    ChipTensor t{};
    t.ndims = info.ndims;
    t.dtype = info.dtype;
    memcpy(t.shapes, info.shapes, sizeof(t.shapes));
    row_major_strides(t);
    t.buffer.size = info.buffer_size_bytes();
    t.buffer.addr = reinterpret_cast<uintptr_t>(allocate(t.buffer.size, t.dtype, owner.raw));
    t.owner_task_id = owner;
    return t;
}

std::string task_name(uint64_t id, int32_t kernel) {
    return "task " + std::to_string(id) + (kernel >= 0 ? " (kernel " + std::to_string(kernel) + ")" : "");
}

// Records one submit: materializes its OUTPUT create-infos, builds its TaskRecord, queues it.
TaskOutputTensors submit(int32_t core, int32_t kernel, const MixedKernels *mixed, const CoreTaskArgs &args) {
    TaskOutputTensors out;
    if (fatal()) return out;
    PTO2TaskId id{static_cast<uint64_t>(g_run.tasks.size())};
    g_run.tasks.emplace_back();
    Task &task = g_run.tasks.back();
    TaskRecord &r = task.record;
    memset(&r, 0, sizeof(r));
    r.task_id = id.raw;
    r.core_type = core;
    r.kernel_id = kernel;
    r.aic_kernel_id = mixed ? mixed->aic_kernel_id : INVALID_KERNEL_ID;
    r.aiv0_kernel_id = mixed ? mixed->aiv0_kernel_id : INVALID_KERNEL_ID;
    r.aiv1_kernel_id = mixed ? mixed->aiv1_kernel_id : INVALID_KERNEL_ID;
    r.block_num = args.launch_spec.block_num();
    r.tensor_count = args.tensor_count_;
    r.scalar_count = args.scalar_count_;
    for (int32_t i = 0; i < args.tensor_count_; ++i) {
        if (args.tags_[i] == TensorArgType::OUTPUT) {
            out.outputs_[out.size_++] = materialize(*args.create_infos_[i], id);
            r.tensors[i] = describe(out.outputs_[out.size_ - 1], args.tags_[i]);
        } else {
            check_alive(*args.tensors_[i], task_name(id.raw, kernel));
            r.tensors[i] = describe(*args.tensors_[i], args.tags_[i]);
        }
    }
    memcpy(r.scalars, args.scalars_, sizeof(uint64_t) * args.scalar_count_);
    task.deps.resize(args.explicit_dep_count_);
    for (uint32_t i = 0; i < args.explicit_dep_count_; ++i) task.deps[i] = args.explicit_deps_[i].raw;
    r.dep_count = args.explicit_dep_count_;
    r.deps = task.deps.data();
    out.task_id_ = id;

    PtoSimCounters &c = g_run.counters;
    c.tasks_submitted++;
    (core == PTO_SIM_DUMMY ? c.dummy_tasks : core == PTO_SIM_ALLOC ? c.alloc_tasks : c.kernel_tasks)++;
    if (!fatal()) enqueue(id.raw);
    return out;
}

bool add_tensor(CoreTaskArgs &a, const ChipTensor *t, const TensorCreateInfo *info, TensorArgType tag) {
    if (fatal()) return false;
    if (a.scalar_count_ > 0 || a.tensor_count_ >= MAX_TENSOR_ARGS) {
        fail(PTO_SIM_ERR_API, a.scalar_count_ > 0 ? "CoreTaskArgs: a tensor added after a scalar (tensors come first)"
                                                  : "CoreTaskArgs: more than MAX_TENSOR_ARGS tensors");
        return false;
    }
    a.tensors_[a.tensor_count_] = t;
    a.create_infos_[a.tensor_count_] = info;
    a.tags_[a.tensor_count_] = tag;
    a.tensor_count_++;
    return true;
}

// The host address of one element of `t`, or nullptr (fatal) when the index is outside the view.
uint8_t *element_address(const ChipTensor &t, uint32_t ndims, const uint32_t indices[], const char *what) {
    if (fatal()) return nullptr;
    if (ndims != t.ndims) {
        fail(PTO_SIM_ERR_API, std::string(what) + ": " + std::to_string(ndims) + " indices for a rank-" +
                                  std::to_string(t.ndims) + " tensor");
        return nullptr;
    }
    uint64_t offset = t.start_offset;
    for (uint32_t d = 0; d < ndims; ++d) {
        if (indices[d] >= t.shapes[d]) {
            fail(PTO_SIM_ERR_API, std::string(what) + ": index " + std::to_string(indices[d]) + " out of range in dim " +
                                      std::to_string(d) + " (size " + std::to_string(t.shapes[d]) + ")");
            return nullptr;
        }
        offset += static_cast<uint64_t>(indices[d]) * t.strides[d];
    }
    return reinterpret_cast<uint8_t *>(static_cast<uintptr_t>(t.buffer.addr)) + offset * get_element_size(t.dtype);
}

// The row-major position of `indices` within the view (what the sanitizer maps back to bytes).
uint64_t element_of(const ChipTensor &t, const uint32_t indices[]) {
    uint64_t flat = 0;
    for (uint32_t d = 0; d < t.ndims; ++d) flat = flat * t.shapes[d] + indices[d];
    return flat;
}

void reset_run(int32_t schedule, uint64_t seed) {
    free_host_blocks();
    PtoSimKernelCallback cb = g_run.callback;
    PtoSimEventCallback events = g_run.event_callback;
    g_run = Run{};
    g_run.callback = cb;
    g_run.event_callback = events;
    g_run.schedule = schedule;
    g_run.seed = seed;
    g_run.rng.seed(seed);
}

}  // namespace

// --- pto_orchestration.h ----------------------------------------------------------------------
uint64_t get_element_size(DataType dtype) {
    switch (dtype) {
        case DataType::FLOAT32: case DataType::INT32: case DataType::UINT32: return 4;
        case DataType::FLOAT16: case DataType::INT16: case DataType::UINT16: case DataType::BFLOAT16: return 2;
        case DataType::INT64: case DataType::UINT64: return 8;
        default: return 1;  // INT8, UINT8, BOOL, FP8E4M3FN, FP8E5M2
    }
}

ChipTensor ChipTensor::view(const uint32_t view_shapes[], const uint32_t view_offsets[]) const {
    ChipTensor v = *this;
    for (uint32_t d = 0; d < ndims; ++d) {
        if (view_shapes[d] > 0 && uint64_t(view_offsets[d]) + view_shapes[d] > shapes[d])
            fail(PTO_SIM_ERR_API, "ChipTensor::view: box outside the tensor in dim " + std::to_string(d));
        v.shapes[d] = view_shapes[d];
        v.start_offset += static_cast<uint64_t>(view_offsets[d]) * strides[d];
    }
    return v;
}

ChipTensor ChipTensor::reshape(const uint32_t new_shapes[], uint32_t new_ndims) const {
    ChipTensor v = *this;
    if (new_ndims > MAX_TENSOR_DIMS || !is_row_major(*this) ||
        element_count(new_shapes, new_ndims) != element_count(shapes, ndims)) {
        fail(PTO_SIM_ERR_API, "ChipTensor::reshape of a non-contiguous view or to a different element count");
        return v;
    }
    v.ndims = new_ndims;
    memset(v.shapes, 0, sizeof(v.shapes));
    memcpy(v.shapes, new_shapes, sizeof(uint32_t) * new_ndims);
    row_major_strides(v);
    return v;
}

ChipTensor make_tensor_external(void *addr, const uint32_t shapes[], uint32_t ndims, DataType dtype,
                                bool manual_dep, int32_t version) {
    (void)manual_dep;  // SEAM: inferred dependencies (AUTO scopes) will honour these
    (void)version;
    ChipTensor t{};
    t.buffer.addr = reinterpret_cast<uintptr_t>(addr);
    t.owner_task_id = PTO2TaskId::invalid();
    t.ndims = ndims <= MAX_TENSOR_DIMS ? ndims : MAX_TENSOR_DIMS;
    t.dtype = dtype;
    memcpy(t.shapes, shapes, sizeof(uint32_t) * t.ndims);
    row_major_strides(t);
    t.buffer.size = element_count(t.shapes, t.ndims) * get_element_size(dtype);
    if (ndims > MAX_TENSOR_DIMS) fail(PTO_SIM_ERR_API, "make_tensor_external: rank above MAX_TENSOR_DIMS");
    return t;
}

TensorCreateInfo::TensorCreateInfo(const uint32_t shapes_in[], uint32_t ndims_in, DataType dtype_in,
                                   bool manual_dep_in)
    : shapes{}, ndims(ndims_in <= MAX_TENSOR_DIMS ? ndims_in : MAX_TENSOR_DIMS), dtype(dtype_in),
      manual_dep(manual_dep_in) {
    memcpy(shapes, shapes_in, sizeof(uint32_t) * ndims);
    if (ndims_in > MAX_TENSOR_DIMS) fail(PTO_SIM_ERR_API, "TensorCreateInfo: rank above MAX_TENSOR_DIMS");
}

uint64_t TensorCreateInfo::buffer_size_bytes() const { return element_count(shapes, ndims) * get_element_size(dtype); }

void CoreTaskArgs::add_input(const ChipTensor &t) { add_tensor(*this, &t, nullptr, TensorArgType::INPUT); }
void CoreTaskArgs::add_output(const ChipTensor &t) { add_tensor(*this, &t, nullptr, TensorArgType::OUTPUT_EXISTING); }
void CoreTaskArgs::add_output(const TensorCreateInfo &info) { add_tensor(*this, nullptr, &info, TensorArgType::OUTPUT); }
void CoreTaskArgs::add_inout(const ChipTensor &t) { add_tensor(*this, &t, nullptr, TensorArgType::INOUT); }
void CoreTaskArgs::add_no_dep(const ChipTensor &t) { add_tensor(*this, &t, nullptr, TensorArgType::NO_DEP); }

void CoreTaskArgs::add_scalar_bits(uint64_t bits) {
    if (scalar_count_ < MAX_SCALAR_ARGS) scalars_[scalar_count_++] = bits;
    else fail(PTO_SIM_ERR_API, "CoreTaskArgs: more than MAX_SCALAR_ARGS scalars");
}

void CoreTaskArgs::set_dependencies(const PTO2TaskId *deps, uint32_t count) {
    if (explicit_deps_ != nullptr) fail(PTO_SIM_ERR_API, "CoreTaskArgs::set_dependencies called twice");
    for (uint32_t i = 0; i < count; ++i)
        if (deps[i].raw >= g_run.tasks.size()) fail(PTO_SIM_ERR_API, "set_dependencies: an id no submit returned");
    explicit_deps_ = deps;
    explicit_dep_count_ = count;
}

// (Mixed tasks run as one task; MixedKernels names the parts, the driver runs their group kernel.)
TaskOutputTensors rt_submit_aic_task(int32_t id, const CoreTaskArgs &a) { return submit(PTO_SIM_AIC, id, nullptr, a); }
TaskOutputTensors rt_submit_aiv_task(int32_t id, const CoreTaskArgs &a) { return submit(PTO_SIM_AIV, id, nullptr, a); }
TaskOutputTensors rt_submit_task(const MixedKernels &k, const CoreTaskArgs &a) {
    return submit(PTO_SIM_MIXED, INVALID_KERNEL_ID, &k, a);
}
TaskOutputTensors rt_submit_dummy_task(const CoreTaskArgs &a) { return submit(PTO_SIM_DUMMY, INVALID_KERNEL_ID, nullptr, a); }
TaskOutputTensors alloc_tensors(const TensorCreateInfo &info) {
    CoreTaskArgs args;
    args.add_output(info);
    return submit(PTO_SIM_ALLOC, INVALID_KERNEL_ID, nullptr, args);
}
int32_t rt_available_cluster_count() { return 24; }
int32_t rt_available_aiv_count() { return 48; }

void rt_scope_begin(PTO2ScopeMode mode) {
    (void)mode;  // every dependency is explicit: AUTO and MANUAL scopes order tasks alike
    scope_begin();
}

void rt_scope_end() { scope_end(); }

// get waits for the tasks declaring a write to the tensor's buffer, set for every task declaring
// it (the reference runtime's semantics); the sanitizer sees both as orchestration accesses.
uint64_t rt_get_tensor_data_bits(const ChipTensor &tensor, uint32_t ndims, const uint32_t indices[]) {
    check_alive(tensor, "get_tensor_data");
    wait_for_buffer(tensor, true);
    const uint8_t *p = element_address(tensor, ndims, indices, "get_tensor_data");
    uint64_t bits = 0;  // zero-extended; 0 once the run is fatal
    if (p == nullptr) return bits;
    memcpy(&bits, p, get_element_size(tensor.dtype));
    TaskTensor d = describe(tensor, TensorArgType::INPUT);
    emit_event(PTO_SIM_EVENT_READ, &d, element_of(tensor, indices), 0);
    return bits;
}

void rt_set_tensor_data_bits(const ChipTensor &tensor, uint32_t ndims, const uint32_t indices[], uint64_t bits) {
    check_alive(tensor, "set_tensor_data");
    wait_for_buffer(tensor, false);
    uint8_t *p = element_address(tensor, ndims, indices, "set_tensor_data");
    if (p == nullptr) return;
    memcpy(p, &bits, get_element_size(tensor.dtype));
    TaskTensor d = describe(tensor, TensorArgType::OUTPUT_EXISTING);
    emit_event(PTO_SIM_EVENT_WRITE, &d, element_of(tensor, indices), 0);
}

// --- pto_sim.h ----------------------------------------------------------------------------------
PTO_SIM_EXPORT void pto_sim_set_kernel_callback(PtoSimKernelCallback cb) { g_run.callback = cb; }
PTO_SIM_EXPORT void pto_sim_set_event_callback(PtoSimEventCallback cb) { g_run.event_callback = cb; }

namespace {
int32_t g_schedule = PTO_SIM_PROGRAM_ORDER;  // set between runs; copied into each run
uint64_t g_seed = 0;
}  // namespace

PTO_SIM_EXPORT void pto_sim_set_schedule(int32_t mode, uint64_t seed) {
    g_schedule = mode;
    g_seed = seed;
}

PTO_SIM_EXPORT void pto_sim_report_error(int code, const char *message) {
    fail(code ? code : PTO_SIM_ERR_KERNEL, message ? message : "kernel error");
}

PTO_SIM_EXPORT const char *pto_sim_last_error(void) { return g_run.error.c_str(); }

PTO_SIM_EXPORT void pto_sim_get_counters(PtoSimCounters *out) { *out = g_run.counters; }

namespace {
// The entry's arguments as external tensors over the caller's memory (kept alive by `storage`).
bool build_entry_args(ChipTaskArgs &args, std::vector<ChipTensor> &storage, int32_t tensor_count,
                      const uint64_t *addrs, const uint32_t *shapes, const uint32_t *ndims,
                      const uint32_t *dtypes, int32_t scalar_count, const uint64_t *scalars) {
    if (tensor_count < 0 || tensor_count > CHIP_MAX_TENSOR_ARGS || scalar_count < 0 ||
        scalar_count > CHIP_MAX_SCALAR_ARGS) {
        fail(PTO_SIM_ERR_ARGS, "too many entry arguments");
        return false;
    }
    storage.resize(tensor_count);
    for (int32_t i = 0; i < tensor_count; ++i) {
        storage[i] = make_tensor_external(reinterpret_cast<void *>(static_cast<uintptr_t>(addrs[i])),
                                          shapes + i * PTO_SIM_MAX_DIMS, ndims[i], static_cast<DataType>(dtypes[i]));
        args.tensors_[i].ptr_ = &storage[i];
    }
    args.tensor_count_ = tensor_count;
    for (int32_t i = 0; i < scalar_count; ++i) args.scalars_[i] = scalars[i];
    args.scalar_count_ = scalar_count;
    return !fatal();
}
}  // namespace

PTO_SIM_EXPORT int pto_sim_run(int32_t tensor_count, const uint64_t *addrs, const uint32_t *shapes,
                               const uint32_t *ndims, const uint32_t *dtypes, int32_t scalar_count,
                               const uint64_t *scalars) {
    reset_run(g_schedule, g_seed);
    static ChipTaskArgs args;  // ~3 KB; static keeps it off small thread stacks
    args = ChipTaskArgs{};
    std::vector<ChipTensor> storage;
    if (build_entry_args(args, storage, tensor_count, addrs, shapes, ndims, dtypes, scalar_count, scalars)) {
        PTO2OrchestrationConfig config = aicpu_orchestration_config(args);
        if (config.expected_arg_count != tensor_count + scalar_count) {
            fail(PTO_SIM_ERR_ARGS, "the entry expects " + std::to_string(config.expected_arg_count) +
                                       " arguments, got " + std::to_string(tensor_count + scalar_count));
        } else {
            rt_scope_begin(PTO2ScopeMode::AUTO);  // the executor's outer scope (simpler.md §1.3)
            aicpu_orchestration_entry(args);
            if (g_run.scopes.size() != 1) fail(PTO_SIM_ERR_API, "the entry left a scope open");
            while (!g_run.scopes.empty()) rt_scope_end();
        }
    }
    drain();
    free_host_blocks();
    return g_run.fatal;
}
