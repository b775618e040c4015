# Sphinx configuration of the loc-strategy-filter release notes.

project = 'loc-strategy-filter release notes'
copyright = 'the loc-strategy-filter authors'

extensions = [
    'reno.sphinxext',
    'openstackdocstheme',
]

# openstackdocstheme
openstackdocs_repo_name = 'loc-strategy-filter'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False
openstackdocs_bug_project = ''
openstackdocs_bug_tag = ''

html_theme = 'openstackdocs'

master_doc = 'index'
exclude_patterns = []
pygments_style = 'native'
