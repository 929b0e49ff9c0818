using Dominance.Api;
using Dominance.Portal;

namespace Dominance.Tests.Portal;

/// <summary>A session's outbox alone: order, the reader's wait, the writer running the reader's turn, completion.</summary>
public sealed class OutboxTests
{
    [Test]
    public void FramesComeOutInOrderWhileTheRingGrowsWrapsAndShrinks()
    {
        var outbox = new Outbox();
        var read = new List<string>();
        int written = 0;

        // Interleaved writes and reads move the ring's head around, and a backlog of 200 grows it past the size at
        // which a drained ring is replaced by a small one; the order is the writers' order throughout.
        foreach (int burst in new[] { 1, 3, 2, 7, 200, 1, 5 })
        {
            for (int i = 0; i < burst; i++)
            {
                Assert.That(outbox.TryWrite(Frame(written++)), Is.True);
            }

            for (int i = 0; i < (burst + 1) / 2; i++)
            {
                Assert.That(outbox.TryRead(out OutputFrame frame), Is.True);
                read.Add(Text(frame));
            }
        }

        while (outbox.TryRead(out OutputFrame frame))
        {
            read.Add(Text(frame));
        }

        Assert.That(read, Is.EqualTo(Enumerable.Range(0, written).Select(i => i.ToString())));
    }

    [Test]
    public void AParkedReaderRunsOnTheWriterThatWakesIt()
    {
        // Delivery runs inline: the frame's writer (the game thread, in a server) runs the write loop's next turn
        // itself, before TryWrite returns, instead of handing it to another thread.
        var outbox = new Outbox();
        ValueTask<bool> wait = outbox.WaitToReadAsync();
        Assert.That(wait.IsCompleted, Is.False, "nothing queued yet: the reader waits");

        int ranOn = 0;
        string? took = null;
        Task reader = ReadOneAsync();
        Assert.That(ranOn, Is.Zero);

        Assert.That(outbox.TryWrite(Frame(1)), Is.True);
        Assert.That(ranOn, Is.EqualTo(Environment.CurrentManagedThreadId), "the reader's turn ran inside TryWrite, on the writer's thread");
        Assert.That(took, Is.EqualTo("1"));
        Assert.That(reader.IsCompletedSuccessfully, Is.True);

        // Frames written while nobody waits are simply queued, and a wait with frames queued completes at once.
        Assert.That(outbox.TryWrite(Frame(2)), Is.True);
        Assert.That(outbox.WaitToReadAsync().IsCompletedSuccessfully, Is.True);

        async Task ReadOneAsync()
        {
            Assert.That(await wait.ConfigureAwait(false), Is.True);
            ranOn = Environment.CurrentManagedThreadId;
            Assert.That(outbox.TryRead(out OutputFrame frame), Is.True);
            took = Text(frame);
        }
    }

    [Test]
    public void IdleMeansTheReaderIsParkedWithNothingQueuedAndTheOutboxOpen()
    {
        // A broadcast goes past the outbox (on the socket directly) only while this holds, so that nothing queued before
        // it is overtaken: every way out of "parked with nothing queued" must end it.
        var outbox = new Outbox();
        Assert.That(outbox.IsIdle, Is.False, "no reader parked yet");

        ValueTask<bool> wait = outbox.WaitToReadAsync();
        Assert.That(outbox.IsIdle, Is.True, "parked with nothing queued");

        Assert.That(outbox.TryWrite(Frame(1)), Is.True);
        Assert.That(wait.IsCompleted, Is.True);
        Assert.That(outbox.IsIdle, Is.False, "a frame is queued and the reader was woken");

        Assert.That(outbox.TryRead(out _), Is.True);
        Assert.That(outbox.IsIdle, Is.False, "empty, but the reader has not parked again");

        Assert.That(outbox.WaitToReadAsync().IsCompleted, Is.False);
        Assert.That(outbox.IsIdle, Is.True);
        Assert.That(outbox.TryComplete(), Is.True);
        Assert.That(outbox.IsIdle, Is.False, "completed: nothing may go past it any more");
    }

    [Test]
    public async Task CompletionRefusesNewFramesButLetsTheQueuedOnesBeRead()
    {
        var outbox = new Outbox();
        Assert.That(outbox.TryWrite(Frame(1)), Is.True);
        Assert.That(outbox.TryComplete(), Is.True);
        Assert.That(outbox.TryComplete(), Is.False, "completed once only");
        Assert.That(outbox.TryWrite(Frame(2)), Is.False);

        Assert.That(await outbox.WaitToReadAsync(), Is.True, "a frame is still queued");
        Assert.That(outbox.TryRead(out OutputFrame frame), Is.True);
        Assert.That(Text(frame), Is.EqualTo("1"));
        Assert.That(outbox.TryRead(out _), Is.False);
        Assert.That(await outbox.WaitToReadAsync(), Is.False, "completed and empty");

        // A reader parked on an empty outbox is woken by completion, with false.
        var other = new Outbox();
        ValueTask<bool> parked = other.WaitToReadAsync();
        Assert.That(parked.IsCompleted, Is.False);
        other.TryComplete();
        Assert.That(parked.IsCompleted, Is.True);
        Assert.That(await parked, Is.False);
    }

    [Test]
    public async Task OneReaderWaitingAgainAndAgainSeesEveryFrameFromManyWriters()
    {
        // The wait is one reused object: a reader that waits, reads, and waits again while four threads write must
        // see every frame once, in each writer's order.
        const int Writers = 4;
        const int PerWriter = 20_000;
        var outbox = new Outbox();
        var last = new int[Writers];
        Array.Fill(last, -1);
        int seen = 0;
        Task reader = Task.Run(async () =>
        {
            while (await outbox.WaitToReadAsync())
            {
                while (outbox.TryRead(out OutputFrame frame))
                {
                    string[] parts = Text(frame).Split(':');
                    int writer = int.Parse(parts[0]);
                    int n = int.Parse(parts[1]);
                    Assert.That(n, Is.EqualTo(last[writer] + 1));
                    last[writer] = n;
                    seen++;
                }
            }
        });

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                Assert.That(outbox.TryWrite(new OutputFrame(FrameKind.Text, OutputPayload.ForLine($"{w}:{i}"))), Is.True);
            }
        })));
        outbox.TryComplete();
        await reader.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(seen, Is.EqualTo(Writers * PerWriter));
    }

    private static OutputFrame Frame(int n) => new(FrameKind.Text, OutputPayload.ForLine(n.ToString()));

    private static string Text(OutputFrame frame) => System.Text.Encoding.UTF8.GetString(frame.Payload!.Span).TrimEnd('\r', '\n');
}
