import Foundation

/// The registry schema is `registry.sql` at the repository root, compiled into the binary
/// (a SwiftPM resource, `PackageResources.registry_sql`). The file is the migrations in
/// order: migration N is the text that ends with its `PRAGMA user_version = N;` line, and
/// executes as one transaction.
enum Schema {
    /// Written into `PRAGMA application_id` by the schema ('Zoo1').
    static let applicationID: Int64 = 1_517_252_401

    /// The whole of `registry.sql`.
    static let file = String(decoding: PackageResources.registry_sql, as: UTF8.self)

    /// (version, text) of each migration, in order.
    static let migrations: [(version: Int, sql: String)] = split(file)

    static func split(_ text: String) -> [(version: Int, sql: String)] {
        var result: [(Int, String)] = []
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current.isEmpty && line.isEmpty { continue }  // the blank line between migrations
            current += line + "\n"
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("PRAGMA user_version = "), trimmed.hasSuffix(";"),
                let version = Int(trimmed.dropFirst("PRAGMA user_version = ".count).dropLast())
            {
                result.append((version, current))
                current = ""
            }
        }
        return result
    }
}
