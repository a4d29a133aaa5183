import ArgumentParser
import Dispatch
import Foundation
import ZooCatalog
import ZooKit
import ZooServer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the zoo as a local web gallery and JSON API (read-only).",
        discussion: """
            Pages: / (every model) and /models/NAME (its card; a try-it form for conditional models).
            API: /api/models, /api/models/NAME, /api/architectures (the JSON of list, show and \
            architectures --json), /api/models/NAME/samples.png?digit=&count=&seed=&grid=&scale=&checkpoint= \
            (the PNG `zoo generate` writes), /healthz. The server never writes the registry. Ctrl-C stops it.

            Examples:
              zoo serve
              zoo serve --port 9000 --registry my.sqlite
            """)

    @Option(help: "Address to listen on; anything but loopback lets the network read the zoo.") var host =
        "127.0.0.1"
    @Option(help: "Port (0: any free port).") var port = 8080
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard (0...65_535).contains(port) else { throw UsageError("--port must be in 0...65535") }
        // Opened as every command opens it (a new registry starts with the shipped models); from
        // then on the server only reads it, through read-only connections.
        let shown = try Locations.store(registry.path).location  // a URL's password is never shown
        if !ServerConfiguration.isLoopback(host) {
            FileHandle.standardError.write(
                "warning: listening on \(host): anyone who can reach this machine on the network can read the zoo; use --host 127.0.0.1 to keep it local\n"
            )
        }
        var configuration = ServerConfiguration(
            registryPath: Locations.registryPath(registry.path), catalog: builtinCatalog)
        configuration.host = host
        configuration.port = port
        let server = ZooServer(configuration: configuration, views: .cli)
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        // ParsableCommand's run is synchronous: the server runs as a task while this thread waits.
        Task {
            do {
                try await server.application { url in
                    FileHandle.standardError.write("zoo serve: \(url) (registry \(shown))\n")
                }.runService()
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error {
            throw UsageError("the server stopped: \(error); is port \(port) in use? Try --port")
        }
    }

    /// The task's error, read after the semaphore says it is done.
    final class Outcome: @unchecked Sendable {
        var error: (any Error)?
    }
}
