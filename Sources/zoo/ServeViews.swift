import Foundation
import ZooCatalog
import ZooKit
import ZooServer

extension ServerViews {
    /// The CLI's own JSON and card, so the API answers exactly what `--json` prints (with its
    /// trailing newline) and the model page is `zoo card`'s.
    static let cli = ServerViews(
        models: { store in
            Data((Format.json(try store.models(sort: .name).map(ModelJSON.summary)) + "\n").utf8)
        },
        model: { store, name in
            Data((Format.json(try ModelCard.collect(name, store: store, previewCount: 0).json) + "\n").utf8)
        },
        architectures: { store in
            Data((Format.json(store.catalog.entries.map { ArchitectureJSON.entry($0.descriptor) }) + "\n").utf8)
        },
        card: { store, name in
            var card = try ModelCard.collect(name, store: store, previewCount: 0)
            card.frames = try store.progressFrames(of: name)
            return HTMLCard.render(card, samplePNG: nil)
        })
}

/// One architecture as `zoo architectures --json` and the server's /api/architectures print it.
enum ArchitectureJSON {
    static func entry(_ d: ArchitectureDescriptor) -> [String: Any] {
        [
            "name": d.name, "title": d.title, "summary": d.summary, "reference": d.reference,
            "kind": d.kind.rawValue,
            "conditional": d.conditional, "latentSize": d.latentSize,
            "defaults": (try? JSONSerialization.jsonObject(with: Data(d.defaults.json().utf8))) ?? [:],
            "recipes": d.recipes.map { r in
                [
                    "name": r.name, "summary": r.summary,
                    "hyperparameters": (try? JSONSerialization.jsonObject(with: Data(r.hyperparameters.json().utf8)))
                        ?? [:],
                ] as [String: Any]
            },
        ]
    }
}
