import Foundation
import ZooCatalog
import ZooKit
import ZooRegistry

// draw-digit [REGISTRY] [MODEL] [DIGIT] [OUT.png]: draws a 4×4 grid of one digit with a
// conditional model of a zoo registry (default: the shipped zoo's cdcgan-mnist), reading the
// registry without changing it.
let arguments = Array(CommandLine.arguments.dropFirst())
let registryPath = arguments.count > 0 ? arguments[0] : "../../Zoo/pretrained.sqlite"
let model = arguments.count > 1 ? arguments[1] : "cdcgan-mnist"
let digit = arguments.count > 2 ? Int(arguments[2]) ?? 7 : 7
let output = arguments.count > 3 ? arguments[3] : "digit.png"

do {
    let store = ModelStore(registry: try Registry(path: registryPath, readOnly: true), catalog: builtinCatalog)
    let images = try store.generate(model: model, count: 16, labels: Array(repeating: digit, count: 16), seed: 7)
    let grid = ImageGrid.tile(images, rows: 4, cols: 4, scale: 2)
    try ImageGrid.pngData(pixels: grid.pixels, width: grid.width, height: grid.height).write(
        to: URL(fileURLWithPath: output))
    print("Wrote \(output): 16 × digit \(digit) by \(model) (\(grid.width)×\(grid.height))")
} catch {
    FileHandle.standardError.write(Data("draw-digit: \(error)\n".utf8))
    exit(1)
}
