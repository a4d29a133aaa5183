import ZooEngine

/// A few generated images drawn with Unicode half blocks, for cards and terminals
/// without image support. Each text line holds two pixel rows; pixels above 0
/// (the middle of [-1, 1]) are ink.
public enum TerminalPreview {
    /// Images are placed `columns` per band, one space apart; bands are separated by
    /// an empty line. Every line of a band has the band's full width (no trimming), so
    /// the block stays aligned when indented.
    public static func render(_ images: Tensor, columns: Int) -> String {
        let (n, h, w) = ImageGrid.geometry(images)
        guard n > 0, h > 0, w > 0 else { return "" }
        let columns = max(columns, 1), stride = images.perSample
        func ink(_ image: Int, _ y: Int, _ x: Int) -> Bool {
            y < h && images.data[image * stride + y * w + x] > 0
        }
        var lines: [String] = []
        for bandStart in Swift.stride(from: 0, to: n, by: columns) {
            if bandStart > 0 { lines.append("") }
            let band = bandStart..<min(bandStart + columns, n)
            for y in Swift.stride(from: 0, to: h, by: 2) {
                let cells = band.map { image in
                    String(
                        (0..<w).map { x -> Character in
                            switch (ink(image, y, x), ink(image, y + 1, x)) {
                            case (true, true): return "█"
                            case (true, false): return "▀"
                            case (false, true): return "▄"
                            case (false, false): return " "
                            }
                        })
                }
                lines.append(cells.joined(separator: " "))
            }
        }
        return lines.joined(separator: "\n")
    }
}
