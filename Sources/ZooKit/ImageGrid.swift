import ZooEngine

/// Lays generated images out as one grayscale picture (for PNG files and cards).
public enum ImageGrid {
    /// The grid `zoo generate` (and `zoo serve`, byte for byte) lays `count` images out in when
    /// none is asked for: one row per class for a conditional model drawing every class, else
    /// near-square.
    public static func defaultLayout(count: Int, rowPerClass: Bool, classes: Int) -> (rows: Int, cols: Int) {
        if rowPerClass { return (classes, count / classes) }
        let cols = Int(Double(count).squareRoot().rounded(.up))
        return ((count + cols - 1) / cols, cols)
    }

    /// Gray between cells so the borders stay visible around black-background digits.
    static let background: UInt8 = 96

    /// Tiles the first rows·cols images of `images` ([N,1,H,W], [N,H,W] or flat square
    /// [N,H·W], values in [-1, 1]) row by row; missing images leave their cell background.
    /// `scale` repeats each pixel scale×scale times so 28-pixel digits are not postage stamps.
    public static func tile(
        _ images: Tensor, rows: Int, cols: Int, padding: Int = 2,
        scale: Int = 1
    ) -> (width: Int, height: Int, pixels: [UInt8]) {
        let (n, h, w) = geometry(images)
        let rows = max(rows, 1), cols = max(cols, 1), padding = max(padding, 0), scale = max(scale, 1)
        let cellW = w * scale, cellH = h * scale
        let width = cols * cellW + (cols + 1) * padding
        let height = rows * cellH + (rows + 1) * padding
        var pixels = [UInt8](repeating: background, count: width * height)
        let plane = h * w, stride = images.perSample  // a multi-channel image shows its first channel
        for index in 0..<min(n, rows * cols) {
            let x0 = padding + (index % cols) * (cellW + padding)
            let y0 = padding + (index / cols) * (cellH + padding)
            let src = images.data + index * stride
            for y in 0..<cellH {
                let rowStart = (y0 + y) * width + x0
                let srcRow = (y / scale) * w
                for x in 0..<cellW {
                    pixels[rowStart + x] = byte(src[min(srcRow + x / scale, plane - 1)])
                }
            }
        }
        return (width, height, pixels)
    }

    /// [-1, 1] → 0...255, rounding; out-of-range values clamp and NaN becomes black.
    static func byte(_ v: Float) -> UInt8 {
        guard v.isFinite else { return v == .infinity ? 255 : 0 }
        return UInt8(max(0, min(255, ((v + 1) * 127.5).rounded())))
    }

    /// (count, height, width) of an image batch, accepting the layouts generators produce.
    static func geometry(_ t: Tensor) -> (Int, Int, Int) {
        switch t.shape.count {
        case 4: return (t.shape[0], t.shape[2], t.shape[3])
        case 3: return (t.shape[0], t.shape[1], t.shape[2])
        default:
            let side = Int(Double(t.perSample).squareRoot().rounded())
            return side * side == t.perSample ? (t.batch, side, side) : (t.batch, 1, t.perSample)
        }
    }
}
