import Foundation

/// OpenBLAS picks its kernels when the library loads, from OPENBLAS_CORETYPE if set. Some
/// machines set it to an AVX2 core (Haswell) for old builds' sake; on a CPU with AVX-512
/// the SkylakeX kernels are correct and about twice as fast for our GEMMs. Changing the
/// variable inside `main` is too late, so zoo re-executes itself once with it set.
/// ZOO_KEEP_BLAS_CORE=1 opts out.
enum BLASCore {
    static let fastCore = "SKYLAKEX"
    static let avx512Cores: Set<String> = ["SKYLAKEX", "COOPERLAKE", "SAPPHIRERAPIDS"]

    static func reexecWithFastKernelsIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env["ZOO_KEEP_BLAS_CORE"] == nil, env["ZOO_REEXECED"] == nil,
              let core = env["OPENBLAS_CORETYPE"], !avx512Cores.contains(core.uppercased()),
              cpuHasAVX512() else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        setenv("ZOO_REEXECED", "1", 1)
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // execv only returns on failure: carry on with the kernels we have.
    }

    static func cpuHasAVX512() -> Bool {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let set = Set(flags.split(separator: " "))
        return set.contains("avx512f") && set.contains("avx512bw") && set.contains("avx512vl")
    }
}
