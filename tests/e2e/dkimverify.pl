#!/usr/bin/perl
# Independent DKIM verifier for the e2e tests (Debian libmail-dkim-perl).
#
#   dkimverify.pl --dns ADDR MESSAGE     key from the test DNS (NSD at ADDR)
#   dkimverify.pl --sign KEY --domain D --selector S MESSAGE
#                                        print MESSAGE with a DKIM-Signature
#                                        (relaxed/relaxed), to test the verifier
#
# Verify prints one line, "pass d=DOMAIN s=SELECTOR" or "fail REASON", and
# exits 0 only when at least one signature passes.  The key is fetched from
# the authoritative server directly (no recursion): DKIM does not depend on
# DNSSEC, and this keeps the verifier independent of ntamsa's resolver.
use strict;
use warnings;
use Getopt::Long;
use Mail::DKIM::Verifier;
use Mail::DKIM::Signer;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

my ($dns, $sign, $domain, $selector);
GetOptions('dns=s' => \$dns, 'sign=s' => \$sign, 'domain=s' => \$domain,
	'selector=s' => \$selector) && @ARGV == 1
	or die "usage: dkimverify.pl --dns ADDR MESSAGE | --sign KEY --domain D --selector S MESSAGE\n";
my $file = $ARGV[0];

open(my $fh, '<:raw', $file) or die "dkimverify: $file: $!\n";
my $msg = do { local $/; <$fh> };
close($fh);
# Mail::DKIM wants CRLF line ends; Maildir files have bare LF.
(my $crlf = $msg) =~ s/\r?\n/\r\n/g;

if ($sign) {
	my $s = Mail::DKIM::Signer->new(Algorithm => 'rsa-sha256',
		Method => 'relaxed/relaxed', Domain => $domain,
		Selector => $selector, KeyFile => $sign,
		Headers => 'from:to:subject:date:message-id');
	$s->PRINT($crlf);
	$s->CLOSE;
	print $s->signature->as_string, "\r\n", $crlf;
	exit 0;
}

defined $dns or die "dkimverify: --dns ADDR needed\n";
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => [$dns],
	recurse => 0, port => 53, tcp_timeout => 5, udp_timeout => 5, retry => 2));
my $v = Mail::DKIM::Verifier->new;
$v->PRINT($crlf);
$v->CLOSE;
foreach my $sig ($v->signatures) {
	if ($sig->result eq 'pass') {
		printf "pass d=%s s=%s\n", $sig->domain, $sig->selector;
		exit 0;
	}
}
my $detail = $v->result_detail // $v->result;
print "fail $detail\n";
exit 1;
