// pto_orchestration.h: the orchestration API that pto's generated orchestration C++ is written
// against (DESIGN.md §6). Declarations, plus the storage and trivial accessors of the argument
// types; the a2a3sim runtime (runtime/) implements the functions.
//
// The names and call shapes follow the reference runtime's L2 orchestration API (PTO2 "tensormap
// and ringbuffer", see ../shared/reference/simpler.md §1.3-1.5), so one generated file compiles
// against either: build with -DPTO_REFERENCE_RUNTIME and the reference include paths to use the
// reference's own header instead of the declarations below.
//
// Model. The entry receives its arguments as external tensors and scalars (ChipTaskArgs). A task
// is a kernel submitted with tagged tensor arguments (CoreTaskArgs: input / output / inout, then
// scalars), a block count (SPMD), and an explicit list of task ids it waits for. Tasks run
// asynchronously; the orchestration reads and writes single tensor elements with
// get_tensor_data / set_tensor_data, which wait for the tasks producing (or reading) them.
// A scope (PTO2_SCOPE) bounds the lifetime of what the tasks inside it allocate.
#ifndef PTO_ORCHESTRATION_H
#define PTO_ORCHESTRATION_H

#ifdef PTO_REFERENCE_RUNTIME
#include "pto_orchestration_api.h"  // the reference runtime's header: same names, same semantics
#else

#include <stdint.h>
#include <string.h>

constexpr uint32_t MAX_TENSOR_DIMS = 5;        // rank limit of a tensor view
constexpr int32_t MAX_TENSOR_ARGS = 32;        // tensors per task
constexpr int32_t MAX_SCALAR_ARGS = 16;        // scalars per task
constexpr int32_t CHIP_MAX_TENSOR_ARGS = 256;  // entry tensors
constexpr int32_t CHIP_MAX_SCALAR_ARGS = 128;  // entry scalars
constexpr int32_t INVALID_KERNEL_ID = -1;

// --- element types and scalar bits ----------------------------------------------------------
enum class DataType : uint8_t {
    FLOAT32, FLOAT16, INT32, INT16, INT8, UINT8, BFLOAT16, INT64, UINT64, UINT16, UINT32, BOOL,
    FP8E4M3FN, FP8E5M2,
};

// Bytes per element of `dtype`.
uint64_t get_element_size(DataType dtype);

// Scalars travel as 64-bit words: the value's bits, zero-extended (to_u64), and back (from_u64).
template <typename T>
inline uint64_t to_u64(T value) {
    static_assert(sizeof(T) <= 8, "scalars are at most 64 bits");
    uint64_t bits = 0;
    memcpy(&bits, &value, sizeof(T));
    return bits;
}
template <typename T>
inline T from_u64(uint64_t bits) {
    static_assert(sizeof(T) <= 8, "scalars are at most 64 bits");
    T value;
    memcpy(&value, &bits, sizeof(T));
    return value;
}

// --- task ids ---------------------------------------------------------------------------------
// A submitted task: (ring << 32) | local id. invalid() names no task (nothing submitted yet).
struct PTO2TaskId {
    uint64_t raw;
    static constexpr PTO2TaskId invalid() { return PTO2TaskId{UINT64_MAX}; }
    constexpr bool is_valid() const { return raw != UINT64_MAX; }
    constexpr bool is_invalid() const { return raw == UINT64_MAX; }
};

// --- tensors ----------------------------------------------------------------------------------
struct PTOBufferHandle {
    uint64_t addr;  // device address of the buffer's first byte
    uint64_t size;  // bytes
};

// A strided view of a GM buffer. Views share the buffer and keep its creator (owner_task_id).
struct ChipTensor {
    PTOBufferHandle buffer;
    PTO2TaskId owner_task_id;  // the task that allocated the buffer; invalid for external tensors
    uint64_t start_offset;     // elements from the buffer start to the view origin
    uint32_t ndims;
    DataType dtype;
    uint32_t shapes[MAX_TENSOR_DIMS];   // elements per dimension
    uint32_t strides[MAX_TENSOR_DIMS];  // elements, > 0

    // The box [offsets, offsets + shapes) of this view (same rank, same dtype).
    ChipTensor view(const uint32_t view_shapes[], const uint32_t view_offsets[]) const;
    // The same (contiguous) elements with a new row-major shape.
    ChipTensor reshape(const uint32_t new_shapes[], uint32_t new_ndims) const;

    template <typename T>
    T *data_as() const { return reinterpret_cast<T *>(static_cast<uintptr_t>(buffer.addr)); }
};

// A tensor over memory the caller owns (entry arguments, views of the workspace): row-major,
// contiguous, no creator task.
ChipTensor make_tensor_external(void *addr, const uint32_t shapes[], uint32_t ndims,
                                DataType dtype = DataType::FLOAT32, bool manual_dep = false,
                                int32_t version = 0);

// The description of a buffer the runtime allocates (as a task output or with alloc_tensors).
class TensorCreateInfo {
public:
    TensorCreateInfo(const uint32_t shapes_in[], uint32_t ndims_in,
                     DataType dtype_in = DataType::FLOAT32, bool manual_dep_in = false);
    uint64_t buffer_size_bytes() const;

    uint32_t shapes[MAX_TENSOR_DIMS];
    uint32_t ndims;
    DataType dtype;
    bool manual_dep;
};

// --- task arguments -------------------------------------------------------------------------------
enum class TensorArgType : uint8_t { INPUT, OUTPUT, INOUT, OUTPUT_EXISTING, NO_DEP };

// SPMD launch: the kernel runs block_num times, each instance sees its block index.
class PTO2LaunchSpec {
public:
    int16_t block_num() const { return block_num_; }
    void set_block_num(int16_t n) { block_num_ = n; }

private:
    int16_t block_num_ = 1;
};

// One task's arguments: every tensor (tagged) before any scalar, the order of the kernel's
// parameters. Tensors and the dependency list are held by pointer until submit: pass lvalues
// that outlive the submit call. (Members ending in _ are the runtime's storage.)
class CoreTaskArgs {
public:
    void add_input(const ChipTensor &tensor);         // read
    void add_output(const ChipTensor &tensor);        // written, existing buffer (OUTPUT_EXISTING)
    void add_output(const TensorCreateInfo &info);    // written, allocated by the runtime (OUTPUT)
    void add_inout(const ChipTensor &tensor);         // read and written
    void add_no_dep(const ChipTensor &tensor);        // passed, not tracked
    template <typename T>
    void add_scalar(T value) { add_scalar_bits(to_u64(value)); }
    void add_scalar_bits(uint64_t bits);
    // The tasks this one waits for (and keeps alive until it finishes); at most one call.
    void set_dependencies(const PTO2TaskId *deps, uint32_t count);

    int32_t tensor_count() const { return tensor_count_; }
    int32_t scalar_count() const { return scalar_count_; }

    PTO2LaunchSpec launch_spec;

    int32_t tensor_count_ = 0;
    int32_t scalar_count_ = 0;
    const ChipTensor *tensors_[MAX_TENSOR_ARGS];
    const TensorCreateInfo *create_infos_[MAX_TENSOR_ARGS];
    TensorArgType tags_[MAX_TENSOR_ARGS];
    uint64_t scalars_[MAX_SCALAR_ARGS];
    const PTO2TaskId *explicit_deps_ = nullptr;
    uint32_t explicit_dep_count_ = 0;
};

// The entry's arguments: external tensors and scalars, each in the entry's parameter order.
class TensorRef {
public:
    const ChipTensor &ref() const { return *ptr_; }
    const ChipTensor *ptr_ = nullptr;
};
class ChipTaskArgs {
public:
    const TensorRef &tensor(int32_t index) const { return tensors_[index]; }
    uint64_t scalar(int32_t index) const { return scalars_[index]; }
    int32_t tensor_count() const { return tensor_count_; }
    int32_t scalar_count() const { return scalar_count_; }

    int32_t tensor_count_ = 0;
    int32_t scalar_count_ = 0;
    TensorRef tensors_[CHIP_MAX_TENSOR_ARGS];
    uint64_t scalars_[CHIP_MAX_SCALAR_ARGS];
};

// What a submit returns: the task id and the buffers of its OUTPUT (create-info) arguments.
class TaskOutputTensors {
public:
    PTO2TaskId task_id() const { return task_id_; }
    uint32_t size() const { return size_; }
    const ChipTensor &get_ref(uint32_t index) const & { return outputs_[index]; }
    const ChipTensor &get_ref(uint32_t index) const && = delete;  // would dangle

    PTO2TaskId task_id_ = PTO2TaskId::invalid();
    uint32_t size_ = 0;
    ChipTensor outputs_[MAX_TENSOR_ARGS];
};

// The kernels of one mixed task on a cluster (1 AIC + 2 AIV); unused slots stay invalid.
struct MixedKernels {
    int32_t aic_kernel_id = INVALID_KERNEL_ID;
    int32_t aiv0_kernel_id = INVALID_KERNEL_ID;
    int32_t aiv1_kernel_id = INVALID_KERNEL_ID;
};

// --- submitting ---------------------------------------------------------------------------------
TaskOutputTensors rt_submit_aic_task(int32_t kernel_id, const CoreTaskArgs &args);
TaskOutputTensors rt_submit_aiv_task(int32_t kernel_id, const CoreTaskArgs &args);
TaskOutputTensors rt_submit_task(const MixedKernels &kernels, const CoreTaskArgs &args);
// A task with no kernel: it only takes part in dependencies (done once what it waits for is).
TaskOutputTensors rt_submit_dummy_task(const CoreTaskArgs &args);
// Allocate a buffer now (a task with no kernel, complete at once); get_ref(0) is the buffer.
TaskOutputTensors alloc_tensors(const TensorCreateInfo &info);
int32_t rt_available_cluster_count();
int32_t rt_available_aiv_count();

// --- scopes -----------------------------------------------------------------------------------
// AUTO: the runtime also infers dependencies from tensor accesses; MANUAL: explicit ones only.
enum class PTO2ScopeMode : uint8_t { AUTO, MANUAL };
void rt_scope_begin(PTO2ScopeMode mode = PTO2ScopeMode::AUTO);
void rt_scope_end();

class PTO2ScopeGuard {
public:
    explicit PTO2ScopeGuard(PTO2ScopeMode mode = PTO2ScopeMode::AUTO) { rt_scope_begin(mode); }
    ~PTO2ScopeGuard() { rt_scope_end(); }
    PTO2ScopeGuard(const PTO2ScopeGuard &) = delete;
    PTO2ScopeGuard &operator=(const PTO2ScopeGuard &) = delete;
};

#define PTO2_CONCAT_IMPL_(x, y) x##y
#define PTO2_CONCAT_(x, y) PTO2_CONCAT_IMPL_(x, y)
// `PTO2_SCOPE() { ... }`: the block is one scope (optionally PTO2_SCOPE(PTO2ScopeMode::MANUAL)).
#define PTO2_SCOPE(...) \
    if (PTO2ScopeGuard PTO2_CONCAT_(pto2_scope_guard_, __COUNTER__){__VA_ARGS__}; true)
// `PTO2_SCOPE_GUARD();`: a scope to the end of the enclosing C++ block.
#define PTO2_SCOPE_GUARD(...) \
    [[maybe_unused]] PTO2ScopeGuard PTO2_CONCAT_(pto2_scope_guard_, __COUNTER__){__VA_ARGS__}

// --- orchestration-side element access --------------------------------------------------------------
// The bits of one element; waits until the tasks writing the tensor have finished.
uint64_t rt_get_tensor_data_bits(const ChipTensor &tensor, uint32_t ndims, const uint32_t indices[]);
// Writes one element's bits; waits until the tasks writing or reading the tensor have finished.
void rt_set_tensor_data_bits(const ChipTensor &tensor, uint32_t ndims, const uint32_t indices[],
                             uint64_t bits);

template <typename T = uint64_t>
inline T get_tensor_data(const ChipTensor &tensor, uint32_t ndims, const uint32_t indices[]) {
    return from_u64<T>(rt_get_tensor_data_bits(tensor, ndims, indices));
}
template <typename T = uint64_t>
inline void set_tensor_data(const ChipTensor &tensor, uint32_t ndims, const uint32_t indices[], T value) {
    rt_set_tensor_data_bits(tensor, ndims, indices, to_u64(value));
}

// --- the entry ------------------------------------------------------------------------------------
struct PTO2OrchestrationConfig {
    int expected_arg_count;  // entry tensors + scalars
};

// Exported by every generated orchestration file. The runtime calls the config first, then the
// entry inside an outer scope (the entry must not end the run itself).
extern "C" PTO2OrchestrationConfig aicpu_orchestration_config(const ChipTaskArgs &orch_args);
extern "C" void aicpu_orchestration_entry(const ChipTaskArgs &orch_args);

#endif  // PTO_REFERENCE_RUNTIME
#endif  // PTO_ORCHESTRATION_H
