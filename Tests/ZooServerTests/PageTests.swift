import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
import ZooServer

/// The gallery's pages: every model on the index, the card with its curves and try-it form.
final class PageTests: XCTestCase {
    func get(_ uri: String) async throws -> TestResponse {
        try await Application(router: try ServerFixture.server().router()).test(.router) { client in
            try await client.execute(uri: uri, method: .get)
        }
    }

    func testIndexListsEveryModelWithItsSamples() async throws {
        let response = try await get("/")
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.headers[.contentType], "text/html; charset=utf-8")
        let page = response.text
        let models =
            try JSONSerialization.jsonObject(with: try ServerFixture.zoo(["list", "--json"]).stdout) as? [[String: Any]]
        for model in models ?? [] {
            let name = model["name"] as? String ?? ""
            XCTAssertTrue(page.contains("<a href=\"/models/\(name)\">\(name)</a>"), name)
        }
        XCTAssertTrue(page.contains("src=\"/api/models/cdcgan-mnist/samples.png?count=10&grid=1x10&scale=1\""))
        XCTAssertTrue(page.contains("src=\"/api/models/dcgan-mnist/samples.png?count=16&grid=2x8&scale=1\""))
        XCTAssertFalse(page.contains("http://") || page.contains("https://"), "the page must load nothing from outside")
    }

    func testModelPageIsTheCardWithATryItForm() async throws {
        let response = try await get("/models/cdcgan-mnist")
        XCTAssertEqual(response.status, .ok)
        let page = response.text
        for part in [
            "<h1>cdcgan-mnist</h1>", "<svg", "<h2>Hyperparameters</h2>", "<h2>Metrics</h2>", "<form id=\"tryit\">",
            "<option value=\"9\">9</option>", "fetch('/api/models/cdcgan-mnist/samples.png?'", "<nav><a href=\"/\">",
            "src=\"/api/models/cdcgan-mnist/samples.png\"",
        ] {
            XCTAssertTrue(page.contains(part), part)
        }
        XCTAssertFalse(page.contains("No samples (not a generator)"))
        // Fashion-MNIST's labels are garments: the form names them, and asks for a class.
        let fashion = try await get("/models/cdcgan-fashion").text
        for part in [
            "<label>class <select name=\"digit\">", "<option value=\"4\">4 Coat</option>",
            "<option value=\"0\">0 T-shirt/top</option>", "<option value=\"9\">9 Ankle boot</option>",
        ] {
            XCTAssertTrue(fashion.contains(part), part)
        }
        XCTAssertTrue(page.contains("<label>digit <select name=\"digit\">"))
        let unconditional = try await get("/models/dcgan-mnist").text
        XCTAssertFalse(unconditional.contains("tryit"))
        XCTAssertTrue(
            unconditional.contains("samples.png?count=64&amp;grid=8x8")
                || unconditional.contains("samples.png?count=64&grid=8x8"))
    }
}
