import Foundation
import XCTest

@testable import ZooPostgres

/// End-to-end: runs the built `zoo` binary in a temporary folder with a temporary registry
/// and synthetic MNIST-format data.
final class CLITests: XCTestCase {
    nonisolated(unsafe) static var workspace: URL?
    var dir: URL { Self.workspace! }
    var registry: String { dir.appendingPathComponent("registry.sqlite").path }
    var data: String { dir.appendingPathComponent("mnist").path }

    struct Result {
        let code: Int32
        let stdout: String
        let stderr: String
    }

    static var zooBinary: URL {
        // The test executable sits in the products folder next to `zoo` (debug or release).
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("zoo")
    }

    @discardableResult
    func zoo(_ args: String..., withRegistry: Bool = true) throws -> Result {
        try zoo(args, withRegistry: withRegistry)
    }

    func zoo(_ args: [String], withRegistry: Bool = true) throws -> Result {
        try Self.run(args + (withRegistry ? ["--registry", registry] : []), in: dir, data: data)
    }

    /// Runs `zoo` with `args` in `folder`, starting from an empty registry (no shipped zoo),
    /// MNIST from `data` and no $ZOO_REGISTRY: what every CLI test class runs it with.
    static func run(_ args: [String], in folder: URL, data: String) throws -> Result {
        let process = Process()
        process.executableURL = Self.zooBinary
        process.arguments = args
        process.currentDirectoryURL = folder
        var env = ProcessInfo.processInfo.environment
        env["ZOO_PRETRAINED"] = ""  // start from an empty registry
        env["ZOO_DATA"] = data
        env.removeValue(forKey: "ZOO_REGISTRY")
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            code: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    override class func setUp() {
        super.setUp()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(
            at: url.appendingPathComponent("mnist"), withIntermediateDirectories: true)
        try? SyntheticMNIST.write(to: url.appendingPathComponent("mnist"), count: 96)
        workspace = url
    }

    override class func tearDown() {
        if let workspace { try? FileManager.default.removeItem(at: workspace) }
        super.tearDown()
    }

    /// Trains the two tiny models the other tests use, once.
    func ensureModels() throws {
        if FileManager.default.fileExists(atPath: registry),
            (try zoo("list", "--json")).stdout.contains("tiny-dcgan")
        {
            return
        }
        let a = try zoo("train", "cgan", "--name", "tiny-cgan", "--epochs", "2", "--batch-size", "32", "--data", data)
        XCTAssertEqual(a.code, 0, a.stderr)
        let b = try zoo("train", "dcgan", "--name", "tiny-dcgan", "--epochs", "1", "--batch-size", "32")
        XCTAssertEqual(b.code, 0, b.stderr)
        XCTAssertTrue(b.stderr.contains("epoch 1/1"), "progress lines expected on a non-terminal: \(b.stderr)")
    }

    func testTrainListShowGenerate() throws {
        try ensureModels()
        let list = try zoo("list")
        XCTAssertEqual(list.code, 0)
        XCTAssertTrue(list.stdout.contains("tiny-cgan") && list.stdout.contains("tiny-dcgan"), list.stdout)

        let json = try zoo("list", "--json")
        let models = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(models?.count, 2)
        XCTAssertEqual(models?.first { $0["name"] as? String == "tiny-cgan" }?["epochs"] as? Int, 2)

        let show = try zoo("show", "tiny-cgan")
        XCTAssertEqual(show.code, 0, show.stderr)
        XCTAssertTrue(show.stdout.contains("Training history (2 epochs)"), show.stdout)
        let showJSON = try zoo("show", "tiny-dcgan", "--json")
        let card = try JSONSerialization.jsonObject(with: Data(showJSON.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(card?["architecture"] as? String, "dcgan")

        let png = dir.appendingPathComponent("seven.png")
        let gen = try zoo(
            "generate", "tiny-cgan", "--digit", "7", "--count", "6", "--grid", "2x3", "--scale", "1", "--out", png.path)
        XCTAssertEqual(gen.code, 0, gen.stderr)
        XCTAssertTrue(gen.stdout.contains("(92×62, 6 × digit 7, 2×3 grid"), gen.stdout)
        let (width, height) = try pngSize(png)
        // 3 columns and 2 rows of 28-pixel digits with 2-pixel gaps around each.
        XCTAssertEqual(width, 3 * 28 + 4 * 2)
        XCTAssertEqual(height, 2 * 28 + 3 * 2)

        let rows = try zoo(
            "generate", "tiny-cgan", "--out", dir.appendingPathComponent("rows.png").path, "--scale", "1")
        XCTAssertEqual(rows.code, 0, rows.stderr)
        XCTAssertTrue(rows.stdout.contains("digits 0–9, 10 per row"), rows.stdout)
        XCTAssertEqual(try pngSize(dir.appendingPathComponent("rows.png")).1, 10 * 28 + 11 * 2)
    }

    /// Recipes, aids, progress frames and the moving average, as a user meets them.
    func testRecipesProgressAndAverage() throws {
        // A registry of its own: the other tests count the models of theirs.
        let own = dir.appendingPathComponent("recipes.sqlite").path
        func zoo(_ args: String...) throws -> Result { try self.zoo(args + ["--registry", own], withRegistry: false) }
        func zoo(_ args: [String]) throws -> Result { try self.zoo(args + ["--registry", own], withRegistry: false) }
        let archs = try self.zoo("architectures", withRegistry: false)
        XCTAssertEqual(archs.code, 0)
        XCTAssertTrue(
            archs.stdout.contains("recipe seed (--recipe seed)") && archs.stdout.contains("simple-gan")
                && archs.stdout.contains("dcgan-variant"), archs.stdout)
        let archJSON =
            try JSONSerialization.jsonObject(
                with: Data(try self.zoo("architectures", "--json", withRegistry: false).stdout.utf8))
            as? [[String: Any]]
        let dcgan = archJSON?.first { $0["name"] as? String == "dcgan" }
        XCTAssertEqual(
            (dcgan?["defaults"] as? [String: Any])?["recipe"] as? String, "default",
            "defaults is an object, not a JSON string")
        XCTAssertEqual(
            (dcgan?["recipes"] as? [[String: Any]])?.map { $0["name"] as? String }, ["default", "gaussian", "seed"])

        let seed = try zoo(
            "train", "simple-gan", "--name", "seed-simple", "--recipe", "seed", "--epochs", "2", "--limit", "64")
        XCTAssertEqual(seed.code, 0, seed.stderr)
        let card =
            try JSONSerialization.jsonObject(
                with: Data(try zoo("show", "seed-simple", "--json", "--no-preview").stdout.utf8)) as? [String: Any]
        let h = card?["hyperparameters"] as? [String: Any]
        XCTAssertEqual(h?["recipe"] as? String, "seed")
        XCTAssertEqual(h?["loop"] as? String, "keras")
        XCTAssertEqual(h?["batchSize"] as? Int, 32)
        XCTAssertEqual(card?["progressFrames"] as? Int, 2)

        let gif = dir.appendingPathComponent("seed-simple.gif")
        let progress = try zoo("progress", "seed-simple", "--out", gif.path)
        XCTAssertEqual(progress.code, 0, progress.stderr)
        XCTAssertTrue(progress.stdout.contains("2 frames, epochs 1–2"), progress.stdout)
        XCTAssertEqual(try Data(contentsOf: gif).prefix(6), Data("GIF89a".utf8))
        let frame = try zoo(
            "progress", "seed-simple", "--epoch", "2", "--scale", "1", "--out",
            dir.appendingPathComponent("f2.png").path)
        XCTAssertEqual(frame.code, 0, frame.stderr)
        XCTAssertEqual(try pngSize(dir.appendingPathComponent("f2.png")).0, 4 * 28 + 5 * 2)
        let missing = try zoo("progress", "seed-simple", "--epoch", "9")
        XCTAssertEqual(missing.code, 1)
        XCTAssertTrue(missing.stderr.contains("no progress frame for epoch 9; it has epochs 1–2"), missing.stderr)

        let averaged = try zoo(
            "train", "cgan", "--name", "averaged", "--epochs", "1", "--batch-size", "32", "--ema", "0.9",
            "--label-smoothing", "0.1", "--d-steps", "2")
        XCTAssertEqual(averaged.code, 0, averaged.stderr)
        let a = dir.appendingPathComponent("ema.png"), b = dir.appendingPathComponent("raw.png")
        XCTAssertEqual(try zoo("generate", "averaged", "--scale", "1", "--out", a.path).code, 0)
        XCTAssertEqual(try zoo("generate", "averaged", "--scale", "1", "--no-ema", "--out", b.path).code, 0)
        XCTAssertNotEqual(try Data(contentsOf: a), try Data(contentsOf: b), "--no-ema draws from other weights")

        for (args, message) in [
            (["train", "cgan", "--name", "r", "--recipe", "fast"], "no recipe 'fast'"),
            (["train", "cgan", "--name", "e", "--ema", "1.5"], "--ema"),
            (["train", "cgan", "--name", "k", "--d-steps", "0"], "--d-steps"),
            (["train", "cgan", "--name", "v", "--eval-every", "0"], "--eval-every"),
            (["train", "cgan", "--name", "c", "--eval-every", "1", "--classifier", "nobody"], "nobody"),
        ] {
            let r = try zoo(args)
            XCTAssertNotEqual(r.code, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertFalse(try zoo("list").stdout.contains(" \(args[3]) "), "a refused training leaves no model")
        }
    }

    /// SIGTERM during a training checkpoints once and exits 0, leaving a model that resumes.
    func testSIGTERMCheckpointsAndExitsCleanly() throws {
        let own = dir.appendingPathComponent("term.sqlite").path
        let process = Process()
        process.executableURL = Self.zooBinary
        process.arguments = [
            "train", "dcgan", "--name", "term", "--epochs", "200", "--batch-size", "32", "--checkpoint-every", "2",
            "--registry", own,
        ]
        var env = ProcessInfo.processInfo.environment
        env["ZOO_PRETRAINED"] = ""
        env["ZOO_DATA"] = data
        process.environment = env
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        // Wait for the first checkpoint to exist, then ask it to stop.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline,
            (try? zoo(["show", "term", "--json", "--no-preview", "--registry", own], withRegistry: false))?.code != 0
        {
            Thread.sleep(forTimeInterval: 0.2)
        }
        // While it trains: a second trainer, a rename and a delete are refused; list says training.
        for args in [["resume", "term"], ["rename", "term", "other"], ["delete", "term"]] {
            let refused = try zoo(args + ["--registry", own], withRegistry: false)
            XCTAssertNotEqual(refused.code, 0, "\(args) ran beside the training")
            XCTAssertTrue(refused.stderr.contains("is being trained"), "\(args): \(refused.stderr)")
        }
        XCTAssertTrue(try zoo(["list", "--registry", own], withRegistry: false).stdout.contains("training"))
        process.terminate()  // SIGTERM
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationReason, .exit, stderr)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("stopping after this step"), stderr)
        XCTAssertFalse(stderr.contains("error"), stderr)
        let card =
            try JSONSerialization.jsonObject(
                with: Data(
                    try zoo(
                        ["show", "term", "--json", "--no-preview", "--registry", own],
                        withRegistry: false
                    ).stdout.utf8)) as? [String: Any]
        XCTAssertEqual(card?["status"] as? String, "training", "stopped, not failed")
        XCTAssertEqual(card?["interrupted"] as? Bool, true, "no process trains it now")
        XCTAssertTrue(try zoo(["list", "--registry", own], withRegistry: false).stdout.contains("interrupted"))
        let epochs = ((card?["checkpoints"] as? [[String: Any]]) ?? []).compactMap { $0["epoch"] as? Int }.max() ?? 0
        let resumed = try zoo(["resume", "term", "--epochs", "\(epochs + 1)", "--registry", own], withRegistry: false)
        XCTAssertEqual(resumed.code, 0, resumed.stderr)
        let after =
            try JSONSerialization.jsonObject(
                with: Data(
                    try zoo(
                        ["show", "term", "--json", "--no-preview", "--registry", own],
                        withRegistry: false
                    ).stdout.utf8)) as? [String: Any]
        XCTAssertEqual(after?["status"] as? String, "ready")
    }

    /// kill -9 at any point of a training, from the moment its row exists, leaves a model that
    /// verifies, reads as interrupted and resumes to the very weights of an unbroken run (the
    /// images drawn from both are byte-identical).
    ///
    /// Against the SQLite file and, when `$ZOO_TEST_POSTGRES_URL` names a server, a new
    /// PostgreSQL database (the server rolls back the killed process's transaction and drops its
    /// lease with its connection).
    func testKill9AtAnyPointOfATrainingLeavesAResumableModel() throws {
        try killAndResume(own: dir.appendingPathComponent("kill9.sqlite").path)
        if let server = ProcessInfo.processInfo.environment["ZOO_TEST_POSTGRES_URL"], !server.isEmpty {
            let url = try PostgresURL(server)
            let name = "zoo_cli_kill9_\(getpid())"
            let admin = try PostgresSession(url: url)
            try admin.query("DROP DATABASE IF EXISTS \(name)")
            try admin.query("CREATE DATABASE \(name)")
            defer { _ = try? admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
            try killAndResume(own: "postgresql://\(url.user)@\(url.host):\(url.port)/\(name)")
        } else {
            print("PostgreSQL half skipped: $ZOO_TEST_POSTGRES_URL is not set (tools/test sets it)")
        }
    }

    func killAndResume(own: String) throws {
        func run(_ args: [String]) throws -> Result { try zoo(args + ["--registry", own], withRegistry: false) }
        let common = ["--epochs", "20", "--batch-size", "32", "--seed", "5"]
        XCTAssertEqual(try run(["train", "cgan", "--name", "straight"] + common).code, 0)
        let reference = dir.appendingPathComponent("straight-\(own.hasPrefix("postgresql:")).png").path
        XCTAssertEqual(try run(["generate", "straight", "--seed", "9", "--out", reference]).code, 0)

        for (i, delay) in [0.0, 0.05, 0.3, 0.8].enumerated() {
            let name = "killed-\(i)"
            let process = Process()
            process.executableURL = Self.zooBinary
            process.arguments =
                ["train", "cgan", "--name", name, "--checkpoint-every", "1", "--registry", own] + common
            var env = ProcessInfo.processInfo.environment
            env["ZOO_PRETRAINED"] = ""
            env["ZOO_DATA"] = data
            process.environment = env
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, process.isRunning,
                (try? run(["show", name, "--json", "--no-preview"]))?.code != 0
            {
                Thread.sleep(forTimeInterval: 0.01)
            }
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            XCTAssertEqual(try run(["verify"]).code, 0, "\(name) in \(own): the registry verifies after kill -9")
            let listed = try run(["list"]).stdout
            let status = listed.split(separator: "\n").first { $0.hasPrefix(name + " ") } ?? ""
            XCTAssertTrue(
                status.contains("interrupted") || status.contains("ready"), "\(name) after kill -9: \(status)")
            if status.contains("interrupted") {
                let resumed = try run(["resume", name])
                XCTAssertEqual(resumed.code, 0, "\(name): \(resumed.stderr)")
            }
            let drawn = dir.appendingPathComponent("\(name)-\(own.hasPrefix("postgresql:")).png").path
            XCTAssertEqual(try run(["generate", name, "--seed", "9", "--out", drawn]).code, 0)
            XCTAssertEqual(
                FileManager.default.contents(atPath: drawn), FileManager.default.contents(atPath: reference),
                "\(name) (killed \(delay) s after its row appeared) draws differently from the unbroken run")
        }
    }

    /// kill -9 at any moment of an export, an import or the first open of a new registry (which
    /// seeds the shipped zoo) leaves every file whole: the export's target is absent or complete,
    /// the importing registry has the model entirely or not at all, a new registry is seeded
    /// fully or not there (the next open starts afresh).
    func testKill9DuringExportImportAndFirstOpen() throws {
        let own = dir.appendingPathComponent("kill9-transfer.sqlite").path
        func run(_ args: [String], registry: String? = nil) throws -> Result {
            try zoo(args + ["--registry", registry ?? own], withRegistry: false)
        }
        let trained = try run(["train", "dcgan", "--name", "big", "--epochs", "2", "--batch-size", "32"])
        XCTAssertEqual(trained.code, 0, trained.stderr)
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Zoo/pretrained.sqlite").path

        func killed(after delay: Double, _ args: [String], pretrained: String = "") throws {
            let process = Process()
            process.executableURL = Self.zooBinary
            process.arguments = args
            var env = ProcessInfo.processInfo.environment
            env["ZOO_PRETRAINED"] = pretrained
            env["ZOO_DATA"] = data
            env.removeValue(forKey: "ZOO_REGISTRY")
            process.environment = env
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        for (i, delay) in [0.0, 0.02, 0.08, 0.2, 0.5].enumerated() {
            // Export: the target is absent or a whole, importable file.
            let target = dir.appendingPathComponent("big-\(i).zoo").path
            try killed(after: delay, ["export", "big", target, "--registry", own])
            if FileManager.default.fileExists(atPath: target) {
                let copy = dir.appendingPathComponent("copy-\(i).sqlite").path
                let imported = try run(["import", target, "--as", "big-copy"], registry: copy)
                XCTAssertEqual(
                    imported.code, 0, "export killed after \(delay) s left a broken file: \(imported.stderr)")
            }
            // Import: all or nothing, and the registry verifies.
            let whole = dir.appendingPathComponent("whole.zoo").path
            if !FileManager.default.fileExists(atPath: whole) {
                XCTAssertEqual(try run(["export", "big", whole]).code, 0)
            }
            let into = dir.appendingPathComponent("into-\(i).sqlite").path
            XCTAssertEqual(try run(["list"], registry: into).code, 0)
            try killed(after: delay, ["import", whole, "--as", "big-in", "--registry", into])
            XCTAssertEqual(try run(["verify"], registry: into).code, 0, "import killed after \(delay) s")
            let listed = try run(["list"], registry: into).stdout
            if listed.contains("big-in") {
                XCTAssertEqual(try run(["generate", "big-in", "--out", "in.png"], registry: into).code, 0)
            }
            // First open of a new registry, seeding the shipped zoo.
            let fresh = dir.appendingPathComponent("fresh-\(i).sqlite").path
            try killed(after: delay, ["list", "--registry", fresh], pretrained: shipped)
            if FileManager.default.fileExists(atPath: fresh) {
                let models = try zoo(["list", "--json", "--registry", fresh], withRegistry: false)
                XCTAssertEqual(models.code, 0, models.stderr)
                let count = (try JSONSerialization.jsonObject(with: Data(models.stdout.utf8)) as? [Any])?.count
                XCTAssertGreaterThanOrEqual(count ?? 0, 6, "a registry in place holds the whole shipped zoo")
            }
        }
    }

    /// `zoo prune` removes what a model no longer needs, keeps what it draws and resumes from,
    /// and gives the space back to the file system.
    func testPruneShrinksTheRegistry() throws {
        let own = dir.appendingPathComponent("prune.sqlite").path
        func run(_ args: [String]) throws -> Result { try zoo(args + ["--registry", own], withRegistry: false) }
        let trained = try run([
            "train", "dcgan", "--name", "all-kept", "--epochs", "3", "--batch-size", "32", "--checkpoint-every", "1",
            "--keep-checkpoints", "0",
        ])
        XCTAssertEqual(trained.code, 0, trained.stderr)
        let before = try FileManager.default.attributesOfItem(atPath: own)[.size] as? Int ?? 0
        XCTAssertEqual(try run(["prune", "--keep", "0"]).code, 2, "--keep 0 is a usage error")
        let pruned = try run(["prune", "all-kept", "--keep", "1"])
        XCTAssertEqual(pruned.code, 0, pruned.stderr)
        XCTAssertTrue(pruned.stdout.contains("all-kept: removed 9 checkpoints"), pruned.stdout)
        let after = try FileManager.default.attributesOfItem(atPath: own)[.size] as? Int ?? 0
        XCTAssertLessThan(after, before / 3, pruned.stdout)
        XCTAssertEqual(try run(["verify"]).code, 0)
        XCTAssertEqual(try run(["resume", "all-kept", "--epochs", "4"]).code, 0)
        let gone = try run(["generate", "all-kept", "--checkpoint", "1", "--out", "x.png"])
        XCTAssertNotEqual(gone.code, 0)
        XCTAssertTrue(gone.stderr.contains("--keep-checkpoints"), gone.stderr)
    }

    /// Stored text reaches the terminal escaped: a description carrying ANSI sequences (a
    /// model from someone else's file) cannot recolour or retitle the terminal.
    func testStoredTextIsPrintedWithoutControlCharacters() throws {
        let own = dir.appendingPathComponent("ansi.sqlite").path
        let hostile = "\u{1B}[31mred\u{1B}]0;pwned\u{07}\u{9B}2J"
        let trained = try zoo(
            [
                "train", "cgan", "--name", "ansi", "--epochs", "1", "--batch-size", "32", "--limit", "256",
                "--description", hostile, "--registry", own,
            ], withRegistry: false)
        XCTAssertEqual(trained.code, 0, trained.stderr)
        let shown = try zoo(["show", "ansi", "--no-preview", "--registry", own], withRegistry: false)
        XCTAssertEqual(shown.code, 0, shown.stderr)
        XCTAssertFalse(
            shown.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B },
            shown.stdout)
        XCTAssertTrue(shown.stdout.contains("\\u{1B}[31mred"), shown.stdout)
    }

    func testErrorPathsExitNonZeroAndLeaveRegistryUnchanged() throws {
        try ensureModels()
        let before = try zoo("list", "--json").stdout
        let out = dir.appendingPathComponent("x.png").path
        let cases: [([String], String)] = [
            (["generate", "tiny-cgn", "--out", out], "tiny-cgan"),  // suggestion
            (["generate", "tiny-dcgan", "--digit", "3", "--out", out], "not conditional"),
            (["generate", "tiny-cgan", "--digit", "11", "--out", out], "0...9"),
            (["generate", "tiny-dcgan", "--count", "0", "--out", out], "1...10000"),
            (["generate", "tiny-dcgan", "--count", "1000000000", "--out", out], "1...10000"),
            (["generate", "tiny-dcgan", "--out", "/nonexistent-dir/x.png"], "does not exist"),
            (["train", "dcgan", "--name", "Bad Name!", "--epochs", "1"], "lowercase letters"),
            (["train", "dcgan", "--name", "nodata", "--data", dir.appendingPathComponent("nowhere").path], "nowhere"),
            (["train", "dcgna", "--name", "typo"], "dcgan"),
            (["train", "dcgan", "--name", "tiny-dcgan"], "exists"),
            (["show", "missing-model"], "missing-model"),
            (["generate", "tiny-dcgan", "--bogus-option"], "bogus"),
            (["train", "cgan", "--name", "wrong-data", "--dataset", "cifar"], "'mnist'"),
        ]
        for (args, needle) in cases {
            let r = try zoo(args)
            XCTAssertTrue(r.code == 1 || r.code == 2, "\(args): exit \(r.code)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): stderr lacks '\(needle)': \(r.stderr)")
            XCTAssertFalse(
                r.stderr.contains("Fatal error") || r.stderr.contains("Stack dump"), "\(args): crashed: \(r.stderr)")
            XCTAssertEqual(r.stdout.isEmpty || !r.stdout.contains("Wrote"), true)
        }
        XCTAssertEqual(try zoo("generate", "tiny-dcgan", "--bogus-option").code, 2, "unknown options are usage errors")
        // A value the command cannot use is a usage error too, wherever it is checked.
        for args in [
            ["generate", "tiny-cgan", "--digit", "12", "--out", out],
            ["generate", "tiny-dcgan", "--digit", "3", "--out", out],
            ["train", "dcgna", "--name", "typo"], ["train", "cgan", "--name", "x", "--recipe", "nope"],
            ["generate", "tiny-dcgan", "--count", "0", "--out", out],
            ["train", "cgan", "--name", "zero", "--epochs", "0"],
            ["train", "cgan", "--name", "bad-lr", "--lr", "fast"],
            ["train", "cgan", "--name", "bad-lr", "--lr", "=0.1"],
            // Bounded before anything is drawn: no overflow trap, no 755 MB picture.
            ["generate", "tiny-dcgan", "--grid", "9999999999x9999999999", "--out", out],
            ["generate", "tiny-dcgan", "--grid", "100000x100000", "--out", out],
            ["generate", "tiny-dcgan", "--grid", "60x60", "--scale", "16", "--out", out],
        ] {
            let r = try zoo(args)
            XCTAssertEqual(r.code, 2, "\(args.joined(separator: " ")): \(r.stderr)")
        }
        let folder = try zoo(["list", "--registry", dir.path], withRegistry: false)
        XCTAssertEqual(folder.code, 1)
        XCTAssertTrue(folder.stderr.contains("is a directory, not a registry file"), folder.stderr)
        XCTAssertEqual(
            try zoo("show", "missing-model").code, 1, "a model that is not there is a failure, not a usage error")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try zoo("list", "--json").stdout, before, "a failed command changed the registry")
    }

    func testRenameAliasExportImportDeleteVerify() throws {
        try ensureModels()
        XCTAssertEqual(try zoo("verify").code, 0)
        let file = dir.appendingPathComponent("export.zoo").path
        XCTAssertEqual(try zoo("export", "tiny-cgan", file).code, 0)
        XCTAssertNotEqual(try zoo("import", file).code, 0, "importing over an existing name must fail")
        let imported = try zoo("import", file, "--as", "cgan-copy")
        XCTAssertEqual(imported.code, 0, imported.stderr)
        let alias = try zoo("alias", "cgan-copy", "best", "--checkpoint", "1")
        XCTAssertEqual(alias.code, 0, alias.stderr)
        let fromAlias = try zoo(
            "generate", "cgan-copy", "--checkpoint", "best", "--out", dir.appendingPathComponent("b.png").path)
        XCTAssertEqual(fromAlias.code, 0, fromAlias.stderr)
        XCTAssertEqual(try zoo("rename", "cgan-copy", "cgan-renamed").code, 0)
        XCTAssertEqual(try zoo("delete", "cgan-renamed").code, 0)
        XCTAssertFalse(try zoo("list").stdout.contains("cgan-renamed"))
        XCTAssertEqual(try zoo("architectures", withRegistry: false).code, 0)
        XCTAssertEqual(try zoo("help", "generate", withRegistry: false).code, 0)
        XCTAssertEqual(try zoo("--help", withRegistry: false).code, 0)
    }

    /// Width and height from a PNG's IHDR, after checking the signature.
    func pngSize(_ url: URL) throws -> (Int, Int) {
        let bytes = [UInt8](try Data(contentsOf: url))
        XCTAssertEqual(Array(bytes.prefix(8)), [137, 80, 78, 71, 13, 10, 26, 10], "not a PNG")
        func be(_ i: Int) -> Int { bytes[i..<i + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be(16), be(20))
    }
}

/// The same synthetic IDX files as ZooKitTests' fixtures (a bar per digit).
enum SyntheticMNIST {
    static func write(to directory: URL, count: Int) throws {
        for (prefix, n) in [("train", count), ("t10k", 100)] {
            var images = Data([0, 0, 8, 3]), labels = Data([0, 0, 8, 1])
            for value in [n, 28, 28] { images.append(contentsOf: be(value)) }
            labels.append(contentsOf: be(n))
            for i in 0..<n {
                labels.append(UInt8(i % 10))
                for y in 0..<28 {
                    for x in 0..<28 { images.append(abs(x - (4 + 2 * (i % 10))) <= 1 && y > 4 && y < 24 ? 230 : 10) }
                }
            }
            try images.write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try labels.write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }

    static func be(_ v: Int) -> [UInt8] {
        [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }
}
