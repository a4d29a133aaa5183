import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A training's hold on its model: an exclusive `flock` on a small file beside the registry
/// (`<registry>.leases/<model id>`), taken before the first step and held while the trainer
/// runs. The kernel releases it when the process ends, however it ends (`kill -9` included),
/// so a model left "training" without a holder is a run that was interrupted. While it is held,
/// a second trainer of the model and a rename or delete of it are refused. Another backend's
/// lease (PostgreSQL: an advisory lock held by a connection) is released by its closure.
public final class TrainingLease {
    private let descriptor: Int32
    private let release: (() -> Void)?
    public let model: String

    /// A lease held by something other than a file lock; `release` drops it (called once, when
    /// the lease is freed).
    public init(model: String, release: @escaping () -> Void) {
        self.model = model
        self.descriptor = -1
        self.release = release
    }

    init(file: String, model: String) throws {
        self.model = model
        release = nil
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RegistryError.invalidArgument(
                "cannot open the training lease \(file): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
            close(fd)
            throw RegistryError.modelBusy(model, holder: holder.flatMap { $0.isEmpty ? nil : $0 })
        }
        descriptor = fd
        // Who holds it, for the message a second trainer gets.
        let note = "process \(getpid()) on \(ProcessInfo.processInfo.hostName)\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        if let release { release(); return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Whether some process holds the lease in `file` now.
    static func isHeld(file: String) -> Bool {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }  // never leased
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return true }
        _ = flock(fd, LOCK_UN)
        return false
    }
}

extension Registry {
    /// The lease file of a model (by id, so a rename keeps it); nil for an in-memory registry.
    func leaseFile(modelID: Int64) throws -> String? {
        guard let file = leasePath(modelID: modelID) else { return nil }
        let directory = (file as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw RegistryError.invalidArgument(
                    "cannot create \(directory) for training leases: \(error.localizedDescription)")
            }
        }
        return file
    }

    /// Where the model's lease lives (the folder may not exist yet); nil in memory.
    private func leasePath(modelID: Int64) -> String? {
        path == ":memory:" ? nil : path + ".leases/\(modelID)"
    }

    /// Takes the model's training lease, or throws `modelBusy` naming the process that holds it.
    /// Hold the returned object for as long as the training runs (nil: an in-memory registry).
    public func leaseTraining(model name: String) throws -> TrainingLease? {
        guard let file = try leaseFile(modelID: try modelID(named: name)) else { return nil }
        return try TrainingLease(file: file, model: name)
    }

    /// Whether a process is training the model now.
    public func isBeingTrained(model name: String) throws -> Bool {
        guard let file = leasePath(modelID: try modelID(named: name)) else { return false }
        return TrainingLease.isHeld(file: file)
    }

    func refuseIfBeingTrained(_ name: String) throws {
        if try isBeingTrained(model: name) { throw RegistryError.modelBusy(name, holder: nil) }
    }
}
