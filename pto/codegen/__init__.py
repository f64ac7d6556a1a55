"""Code generation: PTO-AS kernels, orchestration C++, and the ptoas validator tool."""
