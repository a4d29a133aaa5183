import Foundation

/// What the PostgreSQL backend fails with, beyond the registry's own errors (`RegistryError`:
/// a missing model, a busy one… are the same whatever the backend). Locations never hold the
/// password.
public enum PostgresRegistryError: Error, CustomStringConvertible, Equatable {
    case invalidURL(String, reason: String)
    /// The first connection could not be made.
    case cannotConnect(location: String, detail: String)
    /// The connection was lost and every reconnection failed.
    case connectionLost(location: String, attempts: Int, seconds: Int, detail: String)
    /// The server refused a statement (SQLSTATE code and its message).
    case server(location: String, state: String, message: String, sql: String)
    case notARegistry(location: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidURL(text, reason):
            return "\(text) is not a PostgreSQL registry URL: \(reason); "
                + "write postgresql://user[:password]@host[:port]/database (or set $PGPASSWORD)"
        case let .cannotConnect(location, detail):
            return "cannot reach the PostgreSQL registry \(location): \(detail); check that the server runs, "
                + "that the URL is right and that the user may log in (password in the URL or $PGPASSWORD)"
        case let .connectionLost(location, attempts, seconds, detail):
            return "lost the connection to the PostgreSQL registry \(location) and \(attempts) reconnections "
                + "over \(seconds) s failed (\(detail)); nothing half-written was kept: once the server is back, "
                + "`zoo resume NAME` continues a training from its last whole checkpoint"
        case let .server(location, state, message, sql):
            let statement = sql.split(separator: "\n").first.map { " in `\($0.trimmingCharacters(in: .whitespaces))…`" }
            return "PostgreSQL (\(location)) refused a statement: \(message) [SQLSTATE \(state)]\(statement ?? ""); "
                + "if this persists, run `zoo verify` and report it"
        case let .notARegistry(location, reason):
            return "\(location) is a PostgreSQL database but not a Zoo registry (\(reason)); "
                + "point --registry at an empty database or one zoo created"
        }
    }
}
