import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension Registry {
    /// Creates a registry at `path` complete (after `fill`, e.g. seeding the shipped models) or
    /// not at all. It is built in a file beside `path` and linked into place when done, so a
    /// process killed meanwhile leaves no half-seeded registry at `path` (the next open starts
    /// afresh), and when several processes create the same registry at once, one link wins and
    /// the others open the winner's. Returns false when another process's registry won.
    @discardableResult
    public static func createComplete(at path: String, fill: (Registry) throws -> Void) throws -> Bool {
        let temporary = path + ".new-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(temporary + suffix) } }
        do {
            let registry = try Registry(path: temporary)
            try fill(registry)
        }
        // Everything into the main file (closing the last connection usually has): the one file
        // linked into place is the whole registry.
        try Database(path: temporary, readOnly: false).exec("PRAGMA wal_checkpoint(TRUNCATE)")
        // link() never replaces an existing file: the first complete registry stays.
        if link(temporary, path) == 0 { return true }
        if errno == EEXIST { return false }
        throw RegistryError.invalidArgument(
            "cannot create the registry at \(path): \(String(cString: strerror(errno)))")
    }
}
