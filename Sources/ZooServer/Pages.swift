import Foundation
import ZooData
import ZooKit
import ZooRegistry

/// The gallery's HTML: server-rendered, self-contained (no CDN, no web font), with a little
/// vanilla JavaScript for the try-it form and for refreshing while a model trains.
enum Pages {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    static let style = """
        body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #222; }
        nav { margin-bottom: 1em; } nav a { margin-right: 1em; }
        table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #f4f4f4; } img { image-rendering: pixelated; border: 1px solid #ccc; } .muted { color: #777; }
        .training { color: #d9480f; font-weight: bold; } form label { margin-right: 1em; }
        """

    /// The samples URL of a model, as the pages ask for it.
    static func samplesURL(_ name: String, _ query: String) -> String {
        "/api/models/\(name)/samples.png" + (query.isEmpty ? "" : "?\(query)")
    }

    /// Every model: architecture, dataset, status (with the epoch while training), key metrics
    /// and a small sample grid. While any model trains the page reloads itself every 5 s.
    static func index(_ store: ModelStore) throws -> String {
        let models = try store.models(sort: .name)
        var anyTraining = false
        let trained = Set(try store.modelsBeingTrained())
        let rows = models.map { m -> String in
            let status = store.displayStatus(of: m.name, stored: m.status, trained: trained)
            let descriptor = try? store.catalog.lookup(m.architecture).descriptor
            let statusCell: String
            if status == "training" {
                anyTraining = true
                statusCell = "<span class=\"training\">training</span>, epoch \(m.epochs)"
            } else {
                statusCell = escape(status) + ", \(m.epochs) epochs"
            }
            let metrics = ["accuracy", "score", "fd", "requested_accuracy", "classes_covered"].compactMap { key in
                m.metrics[key].map { "\(key) \(String(format: key == "classes_covered" ? "%.0f" : "%.3f", $0))" }
            }.joined(separator: "<br>")
            var image = "<span class=\"muted\">no samples (not a generator)</span>"
            if let descriptor, descriptor.kind != .classifier, m.checkpointCount > 0 {
                // One of each class for a conditional model, two rows of eight otherwise.
                let query =
                    descriptor.conditional
                    ? "count=\(descriptor.classes)&grid=1x\(descriptor.classes)&scale=1" : "count=16&grid=2x8&scale=1"
                image = "<img loading=\"lazy\" alt=\"samples of \(m.name)\" src=\"\(samplesURL(m.name, query))\">"
            }
            return """
                <tr><td><a href="/models/\(m.name)">\(m.name)</a></td><td>\(escape(descriptor?.title ?? m.architecture))</td>\
                <td>\(escape(m.dataset))</td><td>\(statusCell)</td><td>\(metrics.isEmpty ? "-" : metrics)</td><td>\(image)</td></tr>
                """
        }
        let refresh = anyTraining ? "<script>setTimeout(() => location.reload(), 5000)</script>" : ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Zoo</title><style>\(style)</style></head><body>
            <nav><a href="/">Models</a><a href="/api/models">JSON</a><a href="/api/architectures">Architectures</a></nav>
            <h1>Zoo: \(models.count) models</h1>
            \(models.isEmpty ? "<p>No models. Train one: <code>zoo train dcgan --name my-dcgan --epochs 5</code></p>" : "")
            <table><tr><th>model</th><th>architecture</th><th>dataset</th><th>status</th><th>metrics</th><th>samples</th></tr>
            \(rows.joined(separator: "\n"))
            </table>\(refresh)
            </body></html>
            """
    }

    /// `zoo card`'s page, with the gallery's navigation, its sample grid drawn from the API,
    /// and for a conditional model the try-it form. Reloads every 5 s while the model trains.
    static func model(_ name: String, store: ModelStore, card: (ModelStore, String) throws -> String) throws -> String {
        let info = try store.model(named: name)
        let descriptor = try? store.catalog.lookup(info.architecture).descriptor
        let hasCheckpoint = !(try store.checkpoints(of: name)).isEmpty
        let hasSamples = hasCheckpoint && descriptor.map { $0.kind != .classifier } ?? false
        var page = try card(store, name)
        var samples = "<p class=\"muted\">No samples: not a generator, or no checkpoint yet.</p>"
        if hasSamples, let descriptor {
            samples =
                "<p><img id=\"grid\" alt=\"samples of \(name)\" src=\"\(samplesURL(name, descriptor.conditional ? "" : "count=64&grid=8x8"))\"></p>"
            if descriptor.conditional { samples += tryIt(name, classes: descriptor.classes, dataset: info.dataset) }
        }
        let training = try store.displayStatus(of: name, stored: info.status) == "training"
        let nav =
            "<nav><a href=\"/\">All models</a><a href=\"/api/models/\(name)\">JSON</a></nav>"
            + (training ? "<p class=\"training\">Training: this page reloads every 5 s.</p>" : "")
        // The card's own style lacks the gallery's navigation and form: add their few rules.
        if let end = page.range(of: "</style>") {
            page.replaceSubrange(end, with: "nav a, form label { margin-right: 1em; }\n</style>")
        }
        page = page.replacingOccurrences(of: "<body>", with: "<body>\n" + nav)
        page = page.replacingOccurrences(of: "<p>No samples (not a generator).</p>", with: samples)
        page = page.replacingOccurrences(of: "<p class=\"muted\">Generated by zoo card.</p>", with: "")
        if training {
            page = page.replacingOccurrences(
                of: "</body>", with: "<script>setTimeout(() => location.reload(), 5000)</script></body>")
        }
        return page
    }

    /// Digit (or, for Fashion-MNIST, class by name), seed and count; the grid is fetched and
    /// shown without a reload. The page's own query (?digit=7&count=7) fills the form and
    /// draws at once, so a link can show a result. The API's parameter stays `digit`.
    static func tryIt(_ name: String, classes: Int, dataset: String) -> String {
        let names = ClassNames.names(dataset: dataset)
        let options = (0..<classes).map { label in
            let text = names.flatMap { $0.indices.contains(label) ? "\(label) \($0[label])" : nil } ?? "\(label)"
            return "<option value=\"\(label)\">\(Self.escape(text))</option>"
        }.joined()
        let noun = names == nil ? "digit" : "class"
        return """
            <h2>Try it</h2>
            <form id="tryit"><label>\(noun) <select name="digit">\(options)</select></label>\
            <label>seed <input name="seed" type="number" min="0" value="0"></label>\
            <label>count <input name="count" type="number" min="1" max="\(SampleRequest.maximumCount)" value="16"></label>\
            <button type="submit">Draw</button></form>
            <p id="tryit-status" class="muted"></p><p><img id="tryit-grid" alt="" hidden></p>
            <script>
            (() => {
              const form = document.getElementById('tryit'), img = document.getElementById('tryit-grid');
              const status = document.getElementById('tryit-status');
              async function draw() {
                const query = new URLSearchParams(new FormData(form));
                status.textContent = 'drawing…';
                const response = await fetch('\(samplesURL(name, ""))?' + query);
                if (!response.ok) {
                  status.textContent = (await response.json()).error;
                  return;
                }
                const blob = await response.blob();
                img.onload = () => {
                  img.dataset.count = query.get('count');
                  img.dataset.digit = query.get('digit');
                  status.textContent = query.get('count') + ' × \(noun) ' + query.get('digit') + ', seed ' + query.get('seed') +
                    ' (' + img.naturalWidth + '×' + img.naturalHeight + ' pixels)';
                };
                img.src = URL.createObjectURL(blob);
                img.hidden = false;
              }
              form.addEventListener('submit', event => { event.preventDefault(); draw(); });
              const asked = new URLSearchParams(location.search);
              if (asked.has('digit')) {
                for (const [key, value] of asked) if (form.elements[key]) form.elements[key].value = value;
                draw();
              }
            })();
            </script>
            """
    }
}
