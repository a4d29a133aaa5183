import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
import ZooCatalog
import ZooServer

@testable import zoo

/// End to end in headless Chromium (Debian's `chromium`; skipped where it is not installed):
/// the index links to cdcgan-mnist, whose page, asked for digit 7 seven times, fetches the
/// grid and shows a PNG of 7 samples without a reload.
final class BrowserTests: XCTestCase {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Runs Chromium headless on `url` with `arguments`; its standard output.
    func chromium(_ arguments: [String], url: String) throws -> String {
        guard let binary = Self.chromium else { throw XCTSkip("chromium is not installed (apt-get install chromium)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        // Virtual time runs the page's scripts and fetches to completion, then Chromium exits.
        process.arguments =
            [
                "60", binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--window-size=1100,1400", "--virtual-time-budget=8000",
            ] + arguments + [url]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func testPickingDigit7DrawsSevenSamples() async throws {
        guard Self.chromium != nil else { throw XCTSkip("chromium is not installed (apt-get install chromium)") }
        // A browser that cannot start in this sandbox at all says nothing about the zoo's pages:
        // skipped, saying so, rather than failed. One that starts must pass every check below.
        let probe = try chromium(["--dump-dom"], url: "data:text/html,<p>chromium-starts</p>")
        guard probe.contains("<p>chromium-starts</p>") else {
            throw XCTSkip("chromium is installed but does not start here (headless --dump-dom printed nothing)")
        }
        var configuration = ServerConfiguration(
            registryPath: ServerFixture.registry(in: try ServerFixture.workspace()), catalog: builtinCatalog)
        configuration.port = 0
        configuration.log = { _ in }
        let screenshot = try ServerFixture.workspace().appendingPathComponent("try-it.png")
        try await ZooServer(configuration: configuration, views: .cli).application().test(.live) { client in
            let base = "http://127.0.0.1:\(client.port ?? 0)"
            let index = try chromium(["--dump-dom"], url: base + "/")
            XCTAssertTrue(index.contains("<a href=\"/models/cdcgan-mnist\">cdcgan-mnist</a>"), index)
            let page = try chromium(["--dump-dom"], url: base + "/models/cdcgan-mnist?digit=7&count=7")
            // The script marks the image once the fetched PNG has loaded and decoded.
            XCTAssertTrue(page.contains("data-count=\"7\" data-digit=\"7\""), page)
            XCTAssertTrue(page.contains("7 × digit 7, seed 0 (176×176 pixels)"), page)
            _ = try chromium(["--screenshot=\(screenshot.path)"], url: base + "/models/cdcgan-mnist?digit=7&count=7")
        }
        let png = try Data(contentsOf: screenshot)
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "a PNG screenshot")
    }
}
