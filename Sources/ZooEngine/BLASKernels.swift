import CBLAS
import CBLASCore

/// Which OpenBLAS kernel family runs our GEMMs. OpenBLAS picks it once, when it loads, from the
/// CPU's model number or OPENBLAS_CORETYPE. A CPU newer than the library gets a generic core
/// (on an Emerald Rapids Xeon, Debian's 0.3.21 picks Prescott: 22–26 GFLOP/s on the DCGAN's
/// GEMMs, where its SkylakeX kernels reach 100–230), and some machines set
/// OPENBLAS_CORETYPE=Haswell for old builds' sake.
/// `selectFastest` makes the choice again, in-process, when the CPU can run a faster family.
/// ZOO_KEEP_BLAS_CORE=1 keeps OpenBLAS's own choice.
public enum BLASKernels {
    /// Families whose sgemm uses AVX-512 / at least AVX2 with FMA (lower-cased core names).
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
    static let avx2Cores: Set<String> = avx512Cores.union(["haswell", "zen"])

    /// The core OpenBLAS had chosen, when `selectFastest` replaced it.
    public nonisolated(unsafe) private(set) static var replacedCore: String?

    /// The kernel family in use ("Haswell", "SkylakeX", ...).
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The family to switch to, or nil when OpenBLAS's choice is already the best this CPU runs.
    static func better(than core: String, avx512: Bool, avx2FMA: Bool) -> String? {
        let core = core.lowercased()
        if avx512 { return avx512Cores.contains(core) ? nil : "SkylakeX" }
        if avx2FMA { return avx2Cores.contains(core) ? nil : "Haswell" }
        return nil
    }

    /// Call once at start-up, before any BLAS work and before other threads call BLAS
    /// (`Threads.configure` does).
    public static func selectFastest(environment: [String: String]) {
        guard environment["ZOO_KEEP_BLAS_CORE"] == nil else { return }
        let chosen = current
        guard
            let target = better(
                than: chosen, avx512: zoo_cpu_has_avx512() != 0,
                avx2FMA: zoo_cpu_has_avx2_fma() != 0)
        else { return }
        // -1: an OpenBLAS without run-time kernel selection; it keeps what it has.
        if zoo_openblas_select_core(target) == 0, current.lowercased() == target.lowercased() {
            replacedCore = chosen
        }
    }
}
