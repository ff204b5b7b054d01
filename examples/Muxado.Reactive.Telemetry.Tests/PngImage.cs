using System.Buffers.Binary;
using System.IO.Compression;

namespace Muxado.Reactive.Telemetry.Tests;

/// <summary>
/// Just enough of a PNG decoder for a browser's screenshot: 8-bit RGB or RGBA, not interlaced (what Chromium writes).
/// </summary>
internal sealed class PngImage
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly byte[] _rgb;

    private PngImage(int width, int height, byte[] rgb)
    {
        Width = width;
        Height = height;
        _rgb = rgb;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Pixels within <paramref name="tolerance"/> of <paramref name="hex"/> (#rrggbb) in each channel.</summary>
    public int CountNear(string hex, int tolerance)
    {
        var colour = Convert.FromHexString(hex.TrimStart('#'));
        int count = 0;
        for (int at = 0; at < _rgb.Length; at += 3)
        {
            if (Math.Abs(_rgb[at] - colour[0]) <= tolerance && Math.Abs(_rgb[at + 1] - colour[1]) <= tolerance && Math.Abs(_rgb[at + 2] - colour[2]) <= tolerance)
            {
                count++;
            }
        }
        return count;
    }

    public int DistinctColours() => Enumerable.Range(0, Width * Height).Select(i => (_rgb[i * 3], _rgb[i * 3 + 1], _rgb[i * 3 + 2])).Distinct().Count();

    public static PngImage Read(byte[] file)
    {
        if (!file.AsSpan().StartsWith(Signature))
        {
            throw new InvalidDataException("not a PNG file");
        }
        int width = 0, height = 0, channels = 0;
        using var compressed = new MemoryStream();
        for (int at = Signature.Length; at + 8 <= file.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(file, at + 4, 4);
            var data = file.AsSpan(at + 8, length);
            at += 12 + length; // length, type, data, CRC
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                (byte depth, byte colourType, byte interlace) = (data[8], data[9], data[12]);
                channels = colourType switch { 2 => 3, 6 => 4, _ => 0 };
                if (depth != 8 || channels == 0 || interlace != 0)
                {
                    throw new InvalidDataException($"unsupported PNG: depth {depth}, colour type {colourType}, interlace {interlace}");
                }
            }
            else if (type == "IDAT")
            {
                compressed.Write(data);
            }
            else if (type == "IEND")
            {
                break;
            }
        }
        compressed.Position = 0;
        int stride = width * channels;
        var raw = new byte[height * (stride + 1)];
        using (var inflate = new ZLibStream(compressed, CompressionMode.Decompress))
        {
            inflate.ReadExactly(raw);
        }
        return new PngImage(width, height, Unfilter(raw, width, height, channels));
    }

    /// <summary>Undoes each row's filter (PNG spec, section 9) and keeps RGB.</summary>
    private static byte[] Unfilter(byte[] raw, int width, int height, int channels)
    {
        int stride = width * channels;
        var previous = new byte[stride];
        var row = new byte[stride];
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            raw.AsSpan(y * (stride + 1) + 1, stride).CopyTo(row);
            for (int i = 0; i < stride; i++)
            {
                int left = i >= channels ? row[i - channels] : 0;
                int up = previous[i];
                int upLeft = i >= channels ? previous[i - channels] : 0;
                row[i] = (byte)(row[i] + filter switch
                {
                    0 => 0,
                    1 => left,
                    2 => up,
                    3 => (left + up) / 2,
                    4 => Paeth(left, up, upLeft),
                    _ => throw new InvalidDataException($"unknown PNG filter {filter}"),
                });
            }
            for (int x = 0; x < width; x++)
            {
                row.AsSpan(x * channels, 3).CopyTo(rgb.AsSpan((y * width + x) * 3));
            }
            (previous, row) = (row, previous);
        }
        return rgb;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
