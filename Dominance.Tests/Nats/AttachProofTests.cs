using System.Security.Cryptography;
using Dominance.Nats;
using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>The proof a portal attaches with: made with the secret, for one portal, within the window, once.</summary>
public sealed class AttachProofTests
{
    private const string Secret = "the-shared-secret-of-this-test";

    [Test]
    public void AFreshProofIsAcceptedOnceAndItsReplayRefused()
    {
        var clock = new ManualClock();
        var core = new AttachProof(Secret, "dominance", clock);
        byte[] request = Request(new AttachProof(Secret, "dominance", clock), "p1", clock.GetUtcNow());

        Assert.That(Check(core, "p1", request), Is.Null);
        Assert.That(Check(core, "p1", request)?.Kind, Is.EqualTo(AttachProof.RefusalKind.Replayed));
    }

    [Test]
    public void AProofOfAnotherSecretPortalOrPrefixIsRefusedAsTheWrongSecret()
    {
        var clock = new ManualClock();
        var core = new AttachProof(Secret, "dominance", clock);

        Assert.That(Check(core, "p1", Request(new AttachProof("another secret, long enough", "dominance", clock), "p1", clock.GetUtcNow()))?.Kind, Is.EqualTo(AttachProof.RefusalKind.WrongSecret));
        Assert.That(Check(core, "p2", Request(new AttachProof(Secret, "dominance", clock), "p1", clock.GetUtcNow()))?.Kind, Is.EqualTo(AttachProof.RefusalKind.WrongSecret), "made for another portal id");
        Assert.That(Check(core, "p1", Request(new AttachProof(Secret, "other-game", clock), "p1", clock.GetUtcNow()))?.Kind, Is.EqualTo(AttachProof.RefusalKind.WrongSecret), "made for another subject prefix");
    }

    [Test]
    public void AProofMadeOutsideTheWindowIsRefusedWithHowFarOffItIs()
    {
        var clock = new ManualClock();
        var core = new AttachProof(Secret, "dominance", clock);
        var portal = new AttachProof(Secret, "dominance", clock);
        DateTimeOffset now = clock.GetUtcNow();

        AttachProof.Refusal? old = Check(core, "p1", Request(portal, "p1", now - AttachProof.DefaultWindow - TimeSpan.FromSeconds(1)));
        Assert.That(old?.Kind, Is.EqualTo(AttachProof.RefusalKind.OutOfWindow));
        Assert.That(old?.Off, Is.EqualTo(-(AttachProof.DefaultWindow + TimeSpan.FromSeconds(1))));
        Assert.That(Check(core, "p1", Request(portal, "p1", now + AttachProof.DefaultWindow + TimeSpan.FromSeconds(1)))?.Kind, Is.EqualTo(AttachProof.RefusalKind.OutOfWindow), "a portal's clock ahead");
        Assert.That(Check(core, "p1", Request(portal, "p1", now - AttachProof.DefaultWindow)), Is.Null, "the window's edge");
    }

    [Test]
    public void AWiderWindowSetByTheCoreAcceptsAnOlderRequestAndKeepsItsNonceLonger()
    {
        var clock = new ManualClock();
        var core = new AttachProof(Secret, "dominance", clock, TimeSpan.FromMinutes(5));
        var portal = new AttachProof(Secret, "dominance", clock); // the portal's own window plays no part
        byte[] request = Request(portal, "p1", clock.GetUtcNow() - TimeSpan.FromMinutes(4));

        Assert.That(core.Window, Is.EqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(Check(core, "p1", request), Is.Null, "4 minutes off: within 5");
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.That(Check(core, "p1", request)?.Kind, Is.EqualTo(AttachProof.RefusalKind.Replayed), "remembered until its time leaves the window");
        Assert.That(Check(core, "p1", Request(portal, "p1", clock.GetUtcNow() - TimeSpan.FromMinutes(6)))?.Kind, Is.EqualTo(AttachProof.RefusalKind.OutOfWindow));
    }

    [Test]
    public void ANonceIsRememberedOnlyUntilItsRequestHasLeftTheWindow()
    {
        var clock = new ManualClock();
        var core = new AttachProof(Secret, "dominance", clock);
        var portal = new AttachProof(Secret, "dominance", clock);
        byte[] first = Request(portal, "p1", clock.GetUtcNow());
        Assert.That(Check(core, "p1", first), Is.Null);

        clock.Advance(AttachProof.DefaultWindow + TimeSpan.FromSeconds(1));
        Assert.That(Check(core, "p1", Request(portal, "p1", clock.GetUtcNow())), Is.Null, "another portal's request, later");

        Assert.That(core.Remembered, Is.EqualTo(1), "the first nonce is forgotten");
        Assert.That(Check(core, "p1", first)?.Kind, Is.EqualTo(AttachProof.RefusalKind.OutOfWindow), "and its request is still refused, by its time");
    }

    /// <summary>A request's proof (what follows the portal's id) for <paramref name="portal"/>, made at <paramref name="time"/>, with a new nonce.</summary>
    private static byte[] Request(AttachProof proof, string portal, DateTimeOffset time)
    {
        var w = new WireWriter();
        proof.Write(w, portal, RandomNumberGenerator.GetBytes(AttachProof.NonceLength), time);
        return w.Written.ToArray();
    }

    private static AttachProof.Refusal? Check(AttachProof core, string portal, byte[] request)
    {
        var r = new WireReader(request);
        AttachProof.Refusal? refusal = core.Check(portal, ref r);
        Assert.That(r.AtEnd, Is.True, "the whole proof was read");
        return refusal;
    }
}
