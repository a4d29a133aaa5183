import Foundation
import Hummingbird

/// One line per request on the log (stderr): method, path, status, milliseconds. It also turns
/// whatever a handler threw, and the router's "no route", into the JSON error answer, so no
/// request ever gets Hummingbird's plain-text error or a 500 for the user's own mistake.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    let log: @Sendable (String) -> Void

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = ServerError.from(error).response
        }
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15
        log(
            "\(request.method) \(Self.printable(request.uri.path)) \(response.status.code) \(String(format: "%.1f", milliseconds)) ms"
        )
        return response
    }

    /// The path as the log may show it: control characters (a forged log line) escaped, at
    /// most 200 characters.
    static func printable(_ path: String) -> String {
        let scalars = path.unicodeScalars.prefix(200).map { s -> String in
            s.value < 32 || s.value == 127 ? String(format: "\\x%02x", s.value) : String(s)
        }
        return scalars.joined() + (path.unicodeScalars.count > 200 ? "…" : "")
    }
}
