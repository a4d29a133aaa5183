import Foundation

/// Where a PostgreSQL registry lives: `postgresql://user[:password]@host[:port]/database`
/// (`postgres://` too). The password may come from the URL or, when the URL has none, from
/// `$PGPASSWORD` (as psql reads it); it is never part of `location`, which messages print.
public struct PostgresURL: Sendable, Equatable {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String

    /// Whether a `--registry` value names a PostgreSQL database rather than a file.
    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
    }

    /// The URL without its password: what every message shows.
    public var location: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(user)@\(h):\(port)/\(database)"
    }

    public init(user: String, password: String?, host: String, port: Int = 5432, database: String) {
        self.user = user; self.password = password; self.host = host; self.port = port; self.database = database
    }

    /// Parses `text`; `environment` supplies `$PGPASSWORD` when the URL carries no password.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        // The message shows what was given, minus anything that may be a password.
        let shown = PostgresURL.redact(text)
        func invalid(_ reason: String) -> PostgresRegistryError { .invalidURL(shown, reason: reason) }
        guard Self.isPostgres(text), let components = URLComponents(string: text) else {
            throw invalid("it is not a URL of the form postgresql://user[:password]@host[:port]/database")
        }
        guard components.query == nil, components.fragment == nil else {
            throw invalid(
                "zoo takes no URL parameters (no TLS: reach the server over a trusted network or an SSH tunnel)")
        }
        guard let user = components.user, !user.isEmpty else { throw invalid("it names no user (user@host)") }
        guard let host = components.host, !host.isEmpty else { throw invalid("it names no host") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw invalid("it names no database (…@host:port/database)")
        }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw invalid("port \(port) is not 1 to 65535") }
        let password = components.password ?? environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        self.init(
            user: user, password: password, host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
            port: port, database: database.removingPercentEncoding ?? database)
    }

    /// `text` with the part between "://user:" and "@" replaced, for messages about a URL that
    /// could not be parsed.
    static func redact(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.range(of: "@", options: .backwards),
            scheme.upperBound < at.lowerBound
        else { return text }
        let credentials = text[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":•••" + String(text[at.lowerBound...])
    }
}
