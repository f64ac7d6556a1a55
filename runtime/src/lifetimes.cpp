// lifetimes.cpp: runtime allocations and scopes (DESIGN.md §5, §7).
//
// Every buffer the runtime allocates belongs to the innermost scope open at its submit. When the
// scope closes, no task submitted afterwards may use it (check_alive fails the run, naming the
// user and the allocating task), and it is released as soon as every task already submitted that
// declares it has run. Release poisons it (NaN for floating-point buffers, 0xA5 bytes otherwise),
// so a reader the runtime did not know about reads garbage, as on the device, and tells the
// driver (PTO_SIM_EVENT_RELEASE), whose sanitizer reports any later access. Host memory itself is
// only freed when the run ends, so a released address is never handed out again within a run.
#include <stdlib.h>

#include "sim_state.h"

namespace ptosim {
namespace {

constexpr uint64_t ALLOC_ALIGN = 1024;  // the reference packs heap outputs 1024 B aligned
constexpr uint8_t POISON_BYTE = 0xA5;   // new and released integer buffers

// The allocation holding host address `addr`, or nullptr (external memory).
Allocation *find_allocation(uint64_t addr) {
    for (Allocation &a : g_run.allocations)
        if (a.addr <= addr && addr < a.addr + a.size) return &a;
    return nullptr;
}

template <typename T>
void fill(uint64_t addr, uint64_t bytes, T value) {
    T *p = reinterpret_cast<T *>(static_cast<uintptr_t>(addr));
    for (uint64_t i = 0; i < bytes / sizeof(T); ++i) p[i] = value;
}

void poison(const Allocation &a) {
    switch (a.dtype) {
        case DataType::FLOAT32: fill<uint32_t>(a.addr, a.size, 0x7FC00000u); break;  // quiet NaN
        case DataType::FLOAT16: fill<uint16_t>(a.addr, a.size, 0x7E00u); break;
        case DataType::BFLOAT16: fill<uint16_t>(a.addr, a.size, 0x7FC0u); break;
        default: fill<uint8_t>(a.addr, a.size, POISON_BYTE);
    }
}

void release(Allocation &a) {
    poison(a);
    a.released = true;
    TaskTensor t{};
    t.buffer_addr = a.addr;
    t.buffer_size = a.size;
    t.owner_task_id = a.owner_task;
    emit_event(PTO_SIM_EVENT_RELEASE, &t, 0, a.scope_id);
}

void release_if_unused(size_t index) {
    Allocation &a = g_run.allocations[index];
    if (!a.released && !has_unfinished_user(a.addr, a.addr + a.size)) release(a);
}

}  // namespace

void *allocate(uint64_t bytes, DataType dtype, uint64_t owner_task) {
    uint64_t rounded = (bytes + ALLOC_ALIGN - 1) / ALLOC_ALIGN * ALLOC_ALIGN;
    if (rounded == 0) rounded = ALLOC_ALIGN;
    void *p = aligned_alloc(ALLOC_ALIGN, rounded);
    if (p == nullptr) {
        fail(PTO_SIM_ERR_ALLOC, "host allocation of " + std::to_string(bytes) + " bytes failed");
        return nullptr;
    }
    memset(p, POISON_BYTE, rounded);  // never silently zero
    g_run.host_blocks.push_back(p);
    g_run.counters.bytes_allocated += bytes;
    Allocation a;
    a.addr = reinterpret_cast<uintptr_t>(p);
    a.size = bytes;
    a.dtype = dtype;
    a.owner_task = owner_task;
    a.scope_id = g_run.scopes.empty() ? 0 : g_run.scopes.back().id;
    g_run.allocations.push_back(a);
    if (!g_run.scopes.empty()) g_run.scopes.back().allocations.push_back(g_run.allocations.size() - 1);
    return p;
}

void check_alive(const ChipTensor &t, const std::string &user) {
    const Allocation *a = find_allocation(t.buffer.addr);
    if (a == nullptr || !a->scope_closed || fatal()) return;
    fail(PTO_SIM_ERR_LIFETIME, user + " uses a tensor allocated by task " + std::to_string(a->owner_task) +
                                   " after its scope (scope " + std::to_string(a->scope_id) +
                                   ") closed: the buffer is released once its earlier users finish");
}

void scope_begin() {
    g_run.scopes.push_back(Scope{g_run.next_scope_id++, {}});
    uint64_t depth = g_run.scopes.size();
    if (depth > g_run.counters.max_scope_depth) g_run.counters.max_scope_depth = depth;
}

void scope_end() {
    if (g_run.scopes.empty()) {
        fail(PTO_SIM_ERR_API, "rt_scope_end without a matching rt_scope_begin");
        return;
    }
    Scope scope = g_run.scopes.back();
    g_run.scopes.pop_back();
    emit_event(PTO_SIM_EVENT_SCOPE_END, nullptr, 0, scope.id);
    for (size_t i : scope.allocations) {
        g_run.allocations[i].scope_closed = true;
        g_run.pending_release.push_back(i);
    }
    release_unused();  // those no submitted task still declares go now
}

void release_unused() {
    std::vector<size_t> still;
    for (size_t i : g_run.pending_release) {
        release_if_unused(i);
        if (!g_run.allocations[i].released) still.push_back(i);
    }
    g_run.pending_release.swap(still);
}

void free_host_blocks() {
    for (void *p : g_run.host_blocks) free(p);
    g_run.host_blocks.clear();
}

}  // namespace ptosim
