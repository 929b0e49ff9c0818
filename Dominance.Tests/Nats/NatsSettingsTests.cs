using Dominance.Hosting;
using Dominance.Nats;

namespace Dominance.Tests.Nats;

/// <summary>The Nats settings: off by default, and a link that cannot work is refused at start with the setting named.</summary>
public sealed class NatsSettingsTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("dominance-nats-settings-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void OffByDefault()
    {
        Assert.That(SettingsLoader.TryLoad(_folder, [], out _, out DominanceSettings s, out IReadOnlyList<string> errors), Is.True, string.Join("\n", errors));
        Assert.That((s.Nats.Enabled, s.Nats.Subject, s.Nats.LocalPortal, s.Nats.HoldCapacity), Is.EqualTo((false, "dominance", true, 100)));
        Assert.That((s.Nats.HeartbeatInterval, s.Nats.HeartbeatTimeout), Is.EqualTo((TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(3))));
        Assert.That(s.Nats.AttachWindow, Is.EqualTo(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public void ALinkWithoutASecretOrWithABadAddressIsRefusedByName()
    {
        Assert.That(SettingsLoader.TryLoad(_folder, ["--Nats:Url=http://127.0.0.1:4222", "--Nats:Secret=short"], out _, out _, out IReadOnlyList<string> errors), Is.False);
        Assert.That(errors, Has.Some.StartsWith("Nats:Url must be a NATS address"));
        Assert.That(errors, Has.Some.StartsWith($"Nats:Secret must be set, at least {NatsSettingsValidator.MinimumSecretLength} characters"));

        Assert.That(SettingsLoader.TryLoad(_folder, ["--Nats:HeartbeatInterval=00:00:02", "--Nats:HeartbeatTimeout=00:00:03", "--Nats:Subject=a.b", "--Nats:AttachWindow=00:00:00"], out _, out _, out errors), Is.False);
        Assert.That(errors, Has.Some.StartsWith("Nats:AttachWindow must be"));
        Assert.That(errors, Has.Some.StartsWith("Nats:HeartbeatTimeout must be at least twice"));
        Assert.That(errors, Has.Some.StartsWith("Nats:Subject must be one subject token"));

        Assert.That(SettingsLoader.TryLoad(_folder, ["--Nats:Url=nats://10.0.0.5:4222", "--Nats:Secret=0123456789abcdef"], out _, out DominanceSettings s, out errors), Is.True, string.Join("\n", errors));
        Assert.That(s.Nats.Enabled, Is.True);
    }

    [Test]
    public void CredentialsInTheUrlAreRedactedWhereverItIsShown()
    {
        var settings = new NatsSettings { Url = "nats://dominance:s3cr@t@10.0.0.5:4222" };
        Assert.That(settings.RedactedUrl, Is.EqualTo("nats://***@10.0.0.5:4222"));
        Assert.That(new NatsSettings { Url = "tls://a-token@nats.example:4443" }.RedactedUrl, Is.EqualTo("tls://***@nats.example:4443"));
        Assert.That(new NatsSettings { Url = "nats://10.0.0.5:4222" }.RedactedUrl, Is.EqualTo("nats://10.0.0.5:4222"), "nothing to hide");
        Assert.That(NatsSettings.Redact("can not connect uris: nats://u:p@h1:4222,nats://u:p@h2:4222"), Is.EqualTo("can not connect uris: nats://***@h1:4222,nats://***@h2:4222"));

        // A URL the validator refuses is quoted in its error, without its password.
        Assert.That(SettingsLoader.TryLoad(_folder, ["--Nats:Url=http://dominance:s3cret@127.0.0.1:4222", "--Nats:Secret=0123456789abcdef"], out _, out _, out IReadOnlyList<string> errors), Is.False);
        Assert.That(errors, Has.Some.StartsWith("Nats:Url must be a NATS address").And.Some.Contains("http://***@127.0.0.1:4222"));
        Assert.That(errors, Has.None.Contains("s3cret"));
    }
}
