using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.Playwright;

namespace Dominance.Tests.Support;

/// <summary>
/// Screenshots kept in the repository (the README's). A new one replaces the file only if it shows a different
/// picture: Chromium's software rasterizer can shade a few antialiased pixels one step differently from run to run,
/// and rewriting the file for that would leave the work tree changed after every test run.
/// </summary>
internal static class Screenshot
{
    /// <summary>Pixels that may differ, at most, for two screenshots to count as the same picture.</summary>
    private const int TolerablePixels = 16;

    /// <summary>Takes a screenshot of <paramref name="page"/> and saves it at <paramref name="path"/> unless the file there looks the same.</summary>
    public static async Task SaveAsync(IPage page, string path)
    {
        byte[] png = await page.ScreenshotAsync(new() { Animations = ScreenshotAnimations.Disabled, Caret = ScreenshotCaret.Hide });
        if (!File.Exists(path) || !SamePicture(File.ReadAllBytes(path), png))
        {
            File.WriteAllBytes(path, png);
        }
    }

    private static bool SamePicture(byte[] a, byte[] b)
    {
        (int width, int height, int channels, byte[] pixels) first = Decode(a);
        (int width, int height, int channels, byte[] pixels) second = Decode(b);
        if (first.width != second.width || first.height != second.height || first.channels != second.channels)
        {
            return false;
        }

        int differing = 0;
        for (int i = 0; i < first.pixels.Length; i += first.channels)
        {
            if (!first.pixels.AsSpan(i, first.channels).SequenceEqual(second.pixels.AsSpan(i, first.channels)) && ++differing > TolerablePixels)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) into its rows of pixels, unfiltered.</summary>
    private static (int Width, int Height, int Channels, byte[] Pixels) Decode(byte[] png)
    {
        int width = 0, height = 0, channels = 0;
        using var compressed = new MemoryStream();
        for (int at = 8; at + 8 <= png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            ReadOnlySpan<byte> data = png.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                if (data[8] != 8 || data[9] is not (2 or 6) || data[12] != 0)
                {
                    return (0, 0, 0, []); // not a kind Chromium writes: never the same picture
                }

                channels = data[9] == 6 ? 4 : 3;
            }
            else if (type == "IDAT")
            {
                compressed.Write(data);
            }

            at += 12 + length;
        }

        compressed.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }

        byte[] raw = inflated.ToArray();
        int stride = width * channels;
        byte[] pixels = new byte[stride * height];
        for (int y = 0; y < height; y++)
        {
            byte filter = raw[y * (stride + 1)];
            Span<byte> row = pixels.AsSpan(y * stride, stride);
            raw.AsSpan((y * (stride + 1)) + 1, stride).CopyTo(row);
            ReadOnlySpan<byte> above = y == 0 ? new byte[stride] : pixels.AsSpan((y - 1) * stride, stride);
            for (int x = 0; x < stride; x++)
            {
                int left = x >= channels ? row[x - channels] : 0;
                int up = above[x];
                int upLeft = x >= channels ? above[x - channels] : 0;
                row[x] += filter switch
                {
                    1 => (byte)left,
                    2 => (byte)up,
                    3 => (byte)((left + up) / 2),
                    4 => (byte)Paeth(left, up, upLeft),
                    _ => 0,
                };
            }
        }

        return (width, height, channels, pixels);
    }

    private static int Paeth(int left, int up, int upLeft)
    {
        int estimate = left + up - upLeft;
        int toLeft = Math.Abs(estimate - left), toUp = Math.Abs(estimate - up), toUpLeft = Math.Abs(estimate - upLeft);
        return toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft;
    }
}
