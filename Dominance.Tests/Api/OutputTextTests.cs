using System.Text;
using Dominance.Api;
using Dominance.Portal;

namespace Dominance.Tests.Api;

/// <summary>The interpolated-string handler that formats output straight into the pooled buffer.</summary>
public sealed class OutputTextTests
{
    [Test]
    public void FormatsLikeAStringAndEndsTheLine()
    {
        string name = "Alice";
        long soldiers = 12_345;
        double ratio = 0.5;
        Assert.That(Render($"{name} has {soldiers} soldiers ({ratio:P0}) at {new DateOnly(2026, 11, 21):yyyy-MM-dd}."),
            Is.EqualTo("Alice has 12345 soldiers (50 %) at 2026-11-21.\r\n"));
    }

    [Test]
    public void TurnsNewlinesIntoCrlfWithoutDoublingAFinalOne()
    {
        string two = "one\ntwo";
        Assert.That(Render($"{two}"), Is.EqualTo("one\r\ntwo\r\n"));
        Assert.That(Render($"{"already\r\nfine"}\n"), Is.EqualTo("already\r\nfine\r\n"));
        Assert.That(Render($"{"ü"} é"), Is.EqualTo("ü é\r\n"), "UTF-8");
    }

    [Test]
    public void GrowsPastTheFirstBufferForLongText()
    {
        string big = new('x', 100_000);
        int count = 3;
        string rendered = Render($"{big}{count}{big}");
        Assert.That(rendered, Has.Length.EqualTo(200_003));
        Assert.That(rendered, Does.EndWith("x\r\n"));
        Assert.That(rendered[100_000], Is.EqualTo('3'));
    }

    [Test]
    public void MatchesWhatAPlainStringEncodesTo()
    {
        string text = "[chat] Bob: hi\nthere";
        OutputPayload plain = OutputPayload.ForLine(text);
        Assert.That(Render($"[chat] {"Bob"}: {"hi\nthere"}"), Is.EqualTo(Encoding.UTF8.GetString(plain.Span)));
        plain.Release();
    }

    private static string Render(ref OutputText text)
    {
        OutputPayload payload = text.Finish();
        string rendered = Encoding.UTF8.GetString(payload.Span);
        payload.Release();
        return rendered;
    }
}
