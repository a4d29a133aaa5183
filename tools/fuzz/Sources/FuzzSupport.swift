import Foundation

/// A per-process scratch file for targets whose code under test reads paths (on /dev/shm where
/// there is one: a file write per input).
enum FuzzScratch {
    static func file(_ name: String) -> String {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(folder)/zoo-\(name)-\(getpid())"
    }

    static func write(_ bytes: UnsafePointer<UInt8>, _ count: Int, to path: String) {
        let data = Data(bytes: bytes, count: count)
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            fatalError("cannot write the scratch file \(path)")
        }
    }
}

/// libFuzzer's entry point for programs that have their own main (SwiftPM names every
/// executable's main itself, so libFuzzer's main cannot be used).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

enum FuzzDriver {
    static func run(_ target: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, target))
    }
}
