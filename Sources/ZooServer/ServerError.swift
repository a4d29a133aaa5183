import Foundation
import Hummingbird
import ZooKit
import ZooRegistry

/// A request's failure as the API answers it: a status and one sentence that says what to do,
/// sent as `{"error": "..."}`. The user's mistakes are 4xx; only a fault of the server's own
/// (an unreadable registry, say) is a 500.
public struct ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code) \(message)" }

    static func badParameter(_ message: String) -> ServerError { ServerError(.badRequest, message) }

    static func notFound(_ message: String) -> ServerError { ServerError(.notFound, message) }

    /// The answer for anything a handler threw: the store's and the engine's errors about what
    /// was asked (no such model, checkpoint or digit) become 4xx with their own message.
    static func from(_ error: any Error) -> ServerError {
        switch error {
        case let error as ServerError: return error
        case let error as HTTPError where error.status == .notFound:
            return .notFound("no such page or API route; the API is /api/models, /api/models/NAME, /api/architectures")
        case let error as HTTPError: return ServerError(error.status, error.body ?? "\(error.status)")
        case let error as RegistryError:
            switch error {
            case .modelNotFound, .checkpointNotFound: return .notFound(error.description)
            case .invalidModelName, .invalidArgument: return .badParameter(error.description)
            default: return ServerError(.internalServerError, error.description)
            }
        case let error as ZooError:
            switch error {
            case .notConditional, .digitOutOfRange, .countOutOfRange, .notAGenerator, .averageOnly:
                return .badParameter(error.description)
            default: return ServerError(.internalServerError, error.description)
            }
        default: return ServerError(.internalServerError, "\(error)")
        }
    }

    /// The JSON body `{"error": message}`.
    var response: Response {
        let body = (try? JSONSerialization.data(withJSONObject: ["error": message], options: [.sortedKeys])) ?? Data()
        return Response.bytes(body + Data("\n".utf8), status: status, contentType: "application/json; charset=utf-8")
    }
}

extension Response {
    static func bytes(_ data: Data, status: HTTPResponse.Status = .ok, contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
