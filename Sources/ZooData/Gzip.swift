import CZlib

/// Why a gzip stream could not be decompressed; `IDX` wraps it with the file path.
struct GzipError: Error, CustomStringConvertible {
    let description: String
}

/// Streaming gzip decompression through zlib. zlib itself checks the header, the
/// CRC-32 and the length trailer, so a corrupted or truncated download is an error
/// here instead of silently wrong pixels.
enum Gzip {
    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// - Parameter maxBytes: stop instead of exhausting memory on a "gzip bomb".
    /// - Parameter prefix: return once this many bytes are out (a header), inflating no more.
    static func decompress(_ input: [UInt8], maxBytes: Int = 1 << 33, prefix: Int? = nil) throws -> [UInt8] {
        // zlib counts input in 32-bit units; IDX files are far below that.
        guard input.count < Int(UInt32.max) else {
            throw GzipError(description: "compressed file is larger than 4 GiB")
        }
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip wrapper (not raw zlib) and verify its trailer.
        var rc = inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw GzipError(description: "zlib could not start (code \(rc))") }
        defer { inflateEnd(&stream) }

        let chunk = 1 << 18
        var buffer = [UInt8](repeating: 0, count: chunk)
        var output: [UInt8] = []
        output.reserveCapacity(min(input.count * 4, maxBytes))

        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = uInt(inBuf.count)
            while true {
                rc = buffer.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                output.append(contentsOf: buffer[0..<produced])
                if let prefix, output.count >= prefix { return }
                guard output.count <= maxBytes else {
                    throw GzipError(description: "decompresses to more than \(maxBytes) bytes")
                }
                switch rc {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return }
                    // Concatenated gzip members are valid gzip; keep going.
                    guard inflateReset(&stream) == Z_OK else {
                        throw GzipError(description: "could not read the next gzip member")
                    }
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw GzipError(description: "data ends early (truncated download?)")
                default:
                    throw GzipError(description: zlibMessage(stream, rc))
                }
            }
        }
        if let prefix, output.count > prefix { return Array(output.prefix(prefix)) }
        return output
    }

    private static func zlibMessage(_ stream: z_stream, _ rc: Int32) -> String {
        if let msg = stream.msg { return String(cString: msg) }
        return "zlib error code \(rc)"
    }
}
