using Dominance.Accounts;
using Dominance.Hosting;
using Microsoft.Extensions.Configuration;

namespace Dominance.Tests.Hosting;

/// <summary>Configuration sources and validation, without starting a server.</summary>
public sealed class SettingsTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("dominance-settings-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void DefaultsAreTheDocumentedOnes()
    {
        Assert.That(SettingsLoader.TryLoad(_folder, [], out _, out DominanceSettings s, out IReadOnlyList<string> errors), Is.True, string.Join("\n", errors));
        Assert.That((s.Portal.Host, s.Portal.TelnetPort, s.Portal.HttpPort), Is.EqualTo(("127.0.0.1", 4000, 4001)));
        Assert.That((s.Portal.CommandRateLimit, s.Portal.CommandRateWindow, s.Portal.MaxInputLength), Is.EqualTo((80, TimeSpan.FromSeconds(1), 6000)));
        Assert.That(s.Core.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(30)));
        Assert.That((s.Persistence.SqliteFile, s.Persistence.PostgreSQL), Is.EqualTo(("dominance.db", "")));
        Assert.That((s.Persistence.SaveInterval, s.Persistence.KeepSaves), Is.EqualTo((TimeSpan.FromSeconds(5), 3)));
        Assert.That(s.Accounts.PasswordIterations, Is.EqualTo(600_000));
    }

    [Test]
    public void NoConfigurationCanWeakenPasswordHashing()
    {
        // The test-only switch is internal: the binder sees public properties only, so this key is ignored.
        string[] weak = ["--Accounts:PasswordIterations=1000", "--Accounts:AllowWeakPasswordHashing=true"];
        Assert.That(SettingsLoader.TryLoad(_folder, weak, out _, out DominanceSettings s, out IReadOnlyList<string> errors), Is.False);
        Assert.That(s.Accounts.AllowWeakPasswordHashing, Is.False);
        Assert.That(errors.Single(), Is.EqualTo("Accounts:PasswordIterations must be at least 600000; it is 1000."));
        Assert.That(SettingsLoader.TryLoad(_folder, ["--Accounts:PasswordIterations=900000"], out _, out s, out _), Is.True, "raising it is fine");
        Assert.That(s.Accounts.PasswordIterations, Is.EqualTo(900_000));
    }

    [Test]
    public void AppSettingsThenCommandLineOverrideTheDefaults()
    {
        File.WriteAllText(Path.Combine(_folder, "appsettings.json"), """{ "Portal": { "TelnetPort": 5000, "HttpPort": 5001 }, "Game": { "Motd": "hi" } }""");
        Assert.That(SettingsLoader.TryLoad(_folder, ["--Portal:HttpPort=6001"], out IConfigurationRoot config, out DominanceSettings s, out _), Is.True);
        Assert.That((s.Portal.TelnetPort, s.Portal.HttpPort), Is.EqualTo((5000, 6001)));
        Assert.That(config["Game:Motd"], Is.EqualTo("hi"));
    }

    [Test]
    public void BrokenJsonIsReportedWithTheFileName()
    {
        File.WriteAllText(Path.Combine(_folder, "appsettings.json"), """{ "Portal": { "TelnetPort": """);
        Assert.That(SettingsLoader.TryLoad(_folder, [], out _, out _, out IReadOnlyList<string> errors), Is.False);
        Assert.That(errors.Single(), Does.Contain("appsettings.json"));
    }

    [Test]
    public void EveryBadValueIsReportedByName()
    {
        string[] bad =
        [
            "--Portal:Host=not-an-ip", "--Portal:TelnetPort=4000", "--Portal:HttpPort=4000", "--Portal:CommandRateLimit=-1",
            "--Portal:CommandRateWindow=00:00:00", "--Portal:SendQueueCapacity=1", "--Core:InboundCapacity=0",
            "--Core:IdleTimeout=-00:00:01", "--Persistence:KeepSaves=0", "--Persistence:SaveInterval=-00:00:01",
            "--Persistence:RetryDelay=00:00:00", "--Persistence:PostgreSQL=Host=x;NoSuchKeyword=1", "--Accounts:PasswordIterations=599999",
            "--Reload:AdminToken=short", "--Portal:MaxInputLength=600000000", "--Portal:ConnectionRateWindow=1000000.00:00:00",
        ];
        Assert.That(SettingsLoader.TryLoad(_folder, bad, out _, out _, out IReadOnlyList<string> errors), Is.False);
        foreach (string name in new[] { "Portal:Host", "Portal:TelnetPort and Portal:HttpPort", "Portal:CommandRateLimit", "Portal:CommandRateWindow", "Portal:SendQueueCapacity", "Core:InboundCapacity", "Core:IdleTimeout",
            "Persistence:KeepSaves", "Persistence:SaveInterval", "Persistence:RetryDelay", "Persistence:PostgreSQL", "Accounts:PasswordIterations", "Reload:AdminToken",
            "Portal:MaxInputLength", "Portal:ConnectionRateWindow" })
        {
            Assert.That(errors, Has.Some.StartsWith(name), name);
        }
    }

    [Test]
    public void ResumeSettingsHaveTheDocumentedDefaultsAndBadOnesAreReportedByName()
    {
        Assert.That(SettingsLoader.TryLoad(_folder, [], out _, out DominanceSettings s, out _), Is.True);
        Assert.That((s.Core.ResumeGrace, s.Core.ResumeBacklog, s.Core.ResumeKeyFile), Is.EqualTo((TimeSpan.FromMinutes(2), 500, "resume.key")));
        Assert.That(SettingsLoader.TryLoad(_folder, ["--Core:ResumeGrace=00:00:00"], out _, out _, out _), Is.True, "0 turns resuming off");

        foreach (string bad in new[] { "--Core:ResumeGrace=-00:00:01", "--Core:ResumeGrace=1.00:00:01", "--Core:ResumeBacklog=0", "--Core:ResumeKeyFile= " })
        {
            Assert.That(SettingsLoader.TryLoad(_folder, [bad], out _, out _, out IReadOnlyList<string> errors), Is.False, bad);
            string name = bad[2..bad.IndexOf('=')];
            Assert.That(errors, Has.Some.StartsWith(name), bad);
        }
    }

    [Test]
    public void TheWebSocketKeepAliveHasItsDocumentedDefaultZeroTurnsItOffAndBadOnesAreReportedByName()
    {
        Assert.That(SettingsLoader.TryLoad(_folder, [], out _, out DominanceSettings s, out _), Is.True);
        Assert.That(s.Portal.WebSocketKeepAlive, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(SettingsLoader.TryLoad(_folder, ["--Portal:WebSocketKeepAlive=00:00:00"], out _, out s, out _), Is.True, "0 turns it off");
        Assert.That(s.Portal.WebSocketKeepAlive, Is.EqualTo(TimeSpan.Zero));

        foreach (string bad in new[] { "--Portal:WebSocketKeepAlive=-00:00:01", "--Portal:WebSocketKeepAlive=00:00:00.500", "--Portal:WebSocketKeepAlive=1.00:00:01" })
        {
            Assert.That(SettingsLoader.TryLoad(_folder, [bad], out _, out _, out IReadOnlyList<string> errors), Is.False, bad);
            Assert.That(errors, Has.Some.StartsWith("Portal:WebSocketKeepAlive"), bad);
        }
    }

    [Test]
    public void AccountLimitsHaveTheDocumentedDefaultsAndBadOnesAreReportedByName()
    {
        Assert.That(SettingsLoader.TryLoad(_folder, [], out _, out DominanceSettings s, out _), Is.True);
        AccountSettings a = s.Accounts;
        Assert.That((a.LoginFailureLimit, a.AccountFailureLimit, a.LoginFailureWindow), Is.EqualTo((5, 20, TimeSpan.FromMinutes(5))));
        Assert.That((a.CreateLimit, a.CreateWindow), Is.EqualTo((3, TimeSpan.FromHours(1))));
        Assert.That((a.PasswordWorkers, a.PasswordQueue), Is.EqualTo((Math.Max(1, Environment.ProcessorCount / 4), 16)));

        string[] bad = ["--Accounts:AccountFailureLimit=-1", "--Accounts:CreateLimit=-1", "--Accounts:CreateWindow=00:00:00", "--Accounts:PasswordWorkers=0", "--Accounts:PasswordQueue=0"];
        Assert.That(SettingsLoader.TryLoad(_folder, bad, out _, out _, out IReadOnlyList<string> errors), Is.False);
        foreach (string name in new[] { "Accounts:AccountFailureLimit", "Accounts:CreateLimit", "Accounts:CreateWindow", "Accounts:PasswordWorkers", "Accounts:PasswordQueue" })
        {
            Assert.That(errors, Has.Some.StartsWith(name), name);
        }
    }
}
