import Foundation
import ZooKit

/// What the `zoo` command gives the server so that the API's JSON is the CLI's own `--json`
/// output and the model page is `zoo card`'s: the CLI owns those shapes, the server only
/// carries them. Each closure runs on a blocking thread with a store opened read-only.
public struct ServerViews: Sendable {
    /// `zoo list --json`.
    public var models: @Sendable (ModelStore) throws -> Data
    /// `zoo show NAME --json`.
    public var model: @Sendable (ModelStore, String) throws -> Data
    /// `zoo architectures --json`.
    public var architectures: @Sendable (ModelStore) throws -> Data
    /// `zoo card NAME`'s HTML, without its embedded sample grid: the page draws that from the API.
    public var card: @Sendable (ModelStore, String) throws -> String

    public init(
        models: @escaping @Sendable (ModelStore) throws -> Data,
        model: @escaping @Sendable (ModelStore, String) throws -> Data,
        architectures: @escaping @Sendable (ModelStore) throws -> Data,
        card: @escaping @Sendable (ModelStore, String) throws -> String
    ) {
        self.models = models
        self.model = model
        self.architectures = architectures
        self.card = card
    }
}
