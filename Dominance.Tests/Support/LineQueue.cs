using System.Threading.Channels;

namespace Dominance.Tests.Support;

/// <summary>Lines received by a test client, in order, with waits that fail the test at a deadline.</summary>
internal sealed partial class LineQueue
{
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _seen = [];
    private readonly List<string> _raw = [];

    /// <summary>Every line taken so far, for failure messages.</summary>
    public IReadOnlyList<string> Seen
    {
        get
        {
            lock (_seen)
            {
                return [.. _seen];
            }
        }
    }

    /// <summary>Every line received so far, as it arrived (with its colour codes), for tests of what reaches a terminal.</summary>
    public IReadOnlyList<string> Raw
    {
        get
        {
            lock (_raw)
            {
                return [.. _raw];
            }
        }
    }

    /// <summary>Adds a received line, without its ANSI colour codes (tests compare text, not colours).</summary>
    public void Add(string line)
    {
        lock (_raw)
        {
            _raw.Add(line);
        }

        _lines.Writer.TryWrite(AnsiCodes().Replace(line, ""));
    }

    [System.Text.RegularExpressions.GeneratedRegex("\u001b\\[[0-9;]*[A-Za-z]")]
    private static partial System.Text.RegularExpressions.Regex AnsiCodes();

    public void Complete() => _lines.Writer.TryComplete();

    /// <summary>The next line, or a test failure if none arrives in time or the connection closes first.</summary>
    public async Task<string> NextAsync(TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? Poll.Deadline);
        try
        {
            if (await _lines.Reader.WaitToReadAsync(timeout.Token) && _lines.Reader.TryRead(out string? line))
            {
                lock (_seen)
                {
                    _seen.Add(line);
                }

                return line;
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Timed out waiting for a line. Lines so far:\n{string.Join("\n", Seen)}");
        }

        Assert.Fail($"The connection closed while waiting for a line. Lines so far:\n{string.Join("\n", Seen)}");
        return "";
    }

    /// <summary>Takes lines until one matches, and returns it.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> match, TimeSpan? deadline = null)
    {
        DateTime end = DateTime.UtcNow + (deadline ?? Poll.Deadline);
        while (true)
        {
            TimeSpan left = end - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                Assert.Fail($"Timed out waiting for a matching line. Lines so far:\n{string.Join("\n", Seen)}");
            }

            string line = await NextAsync(left);
            if (match(line))
            {
                return line;
            }
        }
    }

    /// <summary>Takes lines until one contains <paramref name="text"/>.</summary>
    public Task<string> WaitForAsync(string text, TimeSpan? deadline = null) =>
        WaitForAsync(line => line.Contains(text, StringComparison.Ordinal), deadline);

    /// <summary>Completes once the connection has closed, taking any lines still queued.</summary>
    public async Task ClosedAsync(TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? Poll.Deadline);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(timeout.Token))
            {
                while (_lines.Reader.TryRead(out string? line))
                {
                    lock (_seen)
                    {
                        _seen.Add(line);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Timed out waiting for the server to close the connection. Lines so far:\n{string.Join("\n", Seen)}");
        }
    }
}
