using Dominance.Portal.Sending;

namespace Dominance.Tests.Portal;

/// <summary>
/// What a connection's bound in bytes leaves out (<see cref="LargestPendingWrite"/>): the most still unsent of one
/// waiting write, counted in kept bytes. A flaky fresh-clone run found the first case: the size of a large write stayed the
/// allowance after the kernel took more of it, so a goodbye behind it fitted under a 4 KiB bound.
/// </summary>
public sealed class LargestPendingWriteTests
{
    [Test]
    public void BytesTheKernelTookOfTheLargestWriteMakeNoRoomBehindIt()
    {
        var largest = new LargestPendingWrite();
        largest.Kept(end: 13_000_000, size: 13_000_000);
        Assert.That(largest.Unsent(sent: 0), Is.EqualTo(13_000_000));

        largest.Kept(end: 13_008_192, size: 8192); // a goodbye behind it, after the kernel took 5,000 more bytes of it
        long pending = 13_008_192 - 5_000;
        Assert.That(largest.Unsent(sent: 5_000), Is.EqualTo(13_000_000 - 5_000));
        Assert.That(pending - largest.Unsent(sent: 5_000), Is.EqualTo(8192), "the goodbye alone is beyond it: over a 4 KiB bound");
    }

    [Test]
    public void OnceTheLargestIsSentTheNextLargestStillWaitingIsLeftOut()
    {
        var largest = new LargestPendingWrite();
        largest.Kept(end: 200_000, size: 200_000);
        largest.Kept(end: 260_000, size: 60_000);
        Assert.That(largest.Unsent(sent: 0), Is.EqualTo(200_000));

        largest.Kept(end: 265_000, size: 5_000);
        largest.Kept(end: 270_000, size: 5_000);
        Assert.That(largest.Unsent(sent: 200_000), Is.EqualTo(60_000), "the 60 KB page, not the last 5 KB line");
        Assert.That(largest.Unsent(sent: 230_000), Is.EqualTo(30_000), "what is left of it");
        Assert.That(largest.Unsent(sent: 260_000), Is.EqualTo(5_000), "then a line");
        Assert.That(largest.Unsent(sent: 270_000), Is.Zero, "nothing waits");
    }

    [Test]
    public void AWholeWriteBehindOnePartlySentCountsWhenItIsMore()
    {
        var largest = new LargestPendingWrite();
        largest.Kept(end: 10_000, size: 10_000);
        largest.Kept(end: 16_000, size: 6_000);
        Assert.That(largest.Unsent(sent: 3_000), Is.EqualTo(7_000), "the first's rest is still more");
        Assert.That(largest.Unsent(sent: 7_000), Is.EqualTo(6_000), "the second, whole, is now more than the first's rest");
    }

    [Test]
    public void ALargerWriteBehindSmallerOnesIsTheLargest()
    {
        var largest = new LargestPendingWrite();
        largest.Kept(end: 100, size: 100);
        largest.Kept(end: 300, size: 200);
        largest.Kept(end: 5_300, size: 5_000);
        Assert.That(largest.Unsent(sent: 0), Is.EqualTo(5_000));
        Assert.That(largest.Unsent(sent: 300), Is.EqualTo(5_000));

        largest.Clear();
        Assert.That(largest.Unsent(sent: 300), Is.Zero, "cleared: nothing waits");
    }
}
