import Foundation
import Hummingbird
import Logging
import ZooKit
import ZooRegistry

/// The zoo as a local web gallery and JSON API (`zoo serve`): read-only, on Hummingbird 2.
///
///     GET /                                   every model, with a sample grid
///     GET /models/NAME                        the model card, and a try-it form for conditional models
///     GET /api/models                         `zoo list --json`
///     GET /api/models/NAME                    `zoo show NAME --json`
///     GET /api/architectures                  `zoo architectures --json`
///     GET /api/models/NAME/samples.png?...    `zoo generate NAME ...`'s PNG
///     GET /healthz                            200 "ok"
public struct ZooServer: Sendable {
    let configuration: ServerConfiguration
    let views: ServerViews
    let cache: GeneratorCache
    let gate: Gate

    public init(configuration: ServerConfiguration, views: ServerViews) {
        self.configuration = configuration
        self.views = views
        cache = GeneratorCache(budget: configuration.cacheBudget)
        gate = Gate(permits: configuration.concurrentDraws)
    }

    /// The routes, behind the access log; also what the tests drive.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: AccessLog(log: configuration.log))
        router.get("/healthz") { _, _ in Response.bytes(Data("ok\n".utf8), contentType: "text/plain; charset=utf-8") }
        router.get("/api/models") { _, _ in
            try await json { store in try views.models(store) }
        }
        router.get("/api/architectures") { _, _ in
            try await json { store in try views.architectures(store) }
        }
        router.get("/api/models/:name") { _, context in
            let name = try modelName(context)
            return try await json { store in try views.model(store, name) }
        }
        router.get("/api/models/:name/samples.png") { request, context in
            let name = try modelName(context)
            let sample = try SampleRequest.parse(request.uri.queryParameters.map { (String($0.key), String($0.value)) })
            let png = try await samples(name, sample)
            return Response.bytes(png, contentType: "image/png")
        }
        router.get("/") { _, _ in
            try await html { store in try Pages.index(store) }
        }
        router.get("/models/:name") { _, context in
            let name = try modelName(context)
            return try await html { store in try Pages.model(name, store: store, card: views.card) }
        }
        return router
    }

    /// The application on the configured address; graceful shutdown on SIGINT and SIGTERM.
    public func application(onRunning: @escaping @Sendable (String) -> Void = { _ in }) -> some ApplicationProtocol {
        // Hummingbird's own info lines would go to stdout beside ours; warnings still show.
        var logger = Logger(label: "zoo-serve")
        logger.logLevel = .warning
        let host = configuration.host, port = configuration.port
        return Application(
            router: router(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "zoo"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                onRunning("http://\(host.contains(":") ? "[\(host)]" : host):\(bound)/")
            },
            logger: logger)
    }

    /// The `{name}` in a route, percent-decoded and checked against the model-name rule
    /// before it reaches the registry: `../`, slashes and control characters never name a file.
    func modelName(_ context: BasicRequestContext) throws -> String {
        let raw = context.parameters.get("name") ?? ""
        let name = raw.removingPercentEncoding ?? raw
        do { try ModelName.validate(name) } catch {
            throw ServerError.notFound("no model named \(SampleRequest.quoted(name)): \(ModelName.rule)")
        }
        return name
    }

    func json(_ body: @escaping @Sendable (ModelStore) throws -> Data) async throws -> Response {
        let store = configuration
        let data = try await Blocking.run { try body(try store.openStore()) }
        return Response.bytes(data, contentType: "application/json; charset=utf-8")
    }

    func html(_ body: @escaping @Sendable (ModelStore) throws -> String) async throws -> Response {
        let store = configuration
        let page = try await Blocking.run { try body(try store.openStore()) }
        return Response.bytes(Data(page.utf8), contentType: "text/html; charset=utf-8")
    }

    /// Draws a sample grid: one permit of the gate while it loads and draws, the generator
    /// from the cache when the model has not changed since it was loaded.
    func samples(_ name: String, _ request: SampleRequest) async throws -> Data {
        let configuration = configuration, cache = cache
        return try await gate.withPermit {
            try await Blocking.run {
                let store = try configuration.openStore()
                let info = try store.model(named: name)
                let key = GeneratorCache.Key(model: name, checkpoint: request.checkpoint, updated: info.updatedAt)
                let entry: GeneratorCache.Entry
                if let cached = cache.checkOut(key) {
                    entry = cached
                } else {
                    entry = GeneratorCache.Entry(
                        try store.load(
                            name, checkpoint: try request.checkpointSelector(), networks: ["generator"],
                            weightsOnly: true, average: true))
                }
                // A refused request (digit out of range) leaves the generator as it was: keep it.
                defer { cache.checkIn(key, entry) }
                return try SampleGrid.png(request, loaded: entry.loaded, store: store)
            }
        }
    }
}
